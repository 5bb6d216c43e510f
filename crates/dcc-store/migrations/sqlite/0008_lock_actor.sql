-- Who set a lock (issue #7, SQLite). Never edit once released: the runner checksums this file.
-- `locked_by` is `cli` (the command line), `operator:<id>` (an administrator on the admin
-- listener) or `anomaly_detection`; locks set before this column existed keep ''.
ALTER TABLE issuance_locks ADD COLUMN locked_by TEXT NOT NULL DEFAULT '';
