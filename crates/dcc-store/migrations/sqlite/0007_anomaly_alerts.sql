-- Anomaly detection (issue #7, SQLite). Never edit once released: the runner checksums this file.

-- One row per alert. While it is open, `open_key` (rule|telematik_id|operator|subject) is
-- unique, so one ongoing pattern stays one alert however many instances detect it; its evidence
-- and occurrences are refreshed. Acknowledging sets `open_key` to NULL, so the next occurrence
-- raises a new alert. `evidence` is JSON text with counts, times and identifiers only: no
-- names, dates of birth or holder keys. `operator_id` stays NULL until operators are recorded.
CREATE TABLE anomaly_alerts (
    id              INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    rule            TEXT    NOT NULL CHECK (rule <> '' AND rule NOT GLOB '*[^a-z0-9_]*'),
    severity        TEXT    NOT NULL CHECK (severity IN ('warning', 'high', 'critical')),
    telematik_id    TEXT    NOT NULL REFERENCES pharmacies (telematik_id),
    operator_id     TEXT,
    subject         TEXT    NOT NULL,
    open_key        TEXT    UNIQUE,
    window_start    INTEGER NOT NULL,
    window_end      INTEGER NOT NULL CHECK (window_end >= window_start),
    evidence        TEXT    NOT NULL,
    action_taken    TEXT    NOT NULL
        CHECK (action_taken IN ('warn', 'throttle', 'lock_operator', 'lock_pharmacy')),
    occurrences     INTEGER NOT NULL CHECK (occurrences >= 1),
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    acknowledged_at INTEGER,
    acknowledged_by TEXT,
    comment         TEXT,
    CHECK ((open_key IS NULL) = (acknowledged_at IS NOT NULL)
       AND (acknowledged_at IS NULL) = (acknowledged_by IS NULL)
       AND (acknowledged_at IS NULL) = (comment IS NULL))
) STRICT;

CREATE INDEX anomaly_alerts_open_rule ON anomaly_alerts (rule) WHERE acknowledged_at IS NULL;
CREATE INDEX anomaly_alerts_pharmacy ON anomaly_alerts (telematik_id, created_at);

-- An acknowledged alert is final, and no alert is ever deleted.
CREATE TRIGGER anomaly_alerts_final BEFORE UPDATE ON anomaly_alerts
WHEN OLD.acknowledged_at IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'acknowledged alerts are final');
END;

CREATE TRIGGER anomaly_alerts_no_delete BEFORE DELETE ON anomaly_alerts
BEGIN
    SELECT RAISE(ABORT, 'alerts are kept');
END;

-- A throttled pharmacy: lowered rate limits until `throttled_until`, read by the group-commit
-- writer next to the locks. One row per pharmacy; a new throttle replaces the old one.
CREATE TABLE pharmacy_throttles (
    telematik_id     TEXT    NOT NULL PRIMARY KEY REFERENCES pharmacies (telematik_id),
    pharmacy_burst   INTEGER NOT NULL CHECK (pharmacy_burst >= 1),
    pharmacy_per_day INTEGER NOT NULL CHECK (pharmacy_per_day >= 1),
    throttled_until  INTEGER NOT NULL,
    alert_id         INTEGER NOT NULL REFERENCES anomaly_alerts (id),
    created_at       INTEGER NOT NULL
) STRICT;

-- The holder rules read one holder's certificates.
CREATE INDEX certificate_ledger_holder_key ON certificate_ledger (holder_key)
    WHERE holder_key IS NOT NULL;
