-- No query looks a certificate up by its UCI hash (issue #8, SQLite). The revocation list
-- reads revoked rows through their partial indexes and sorts those few; the hash stays a column.
-- Its index only cost every certificate one random index page. Never edit once released.
DROP INDEX IF EXISTS certificate_ledger_uci_hash;
