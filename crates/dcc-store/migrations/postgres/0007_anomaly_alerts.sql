-- Anomaly detection (issue #7, PostgreSQL). Never edit once released: the runner checksums this file.

-- One row per alert. While it is open, `open_key` (rule|telematik_id|operator|subject) is
-- unique, so one ongoing pattern stays one alert however many instances detect it; its evidence
-- and occurrences are refreshed. Acknowledging sets `open_key` to NULL, so the next occurrence
-- raises a new alert. `evidence` is JSON text with counts, times and identifiers only: no
-- names, dates of birth or holder keys. `operator_id` stays NULL until operators are recorded.
CREATE TABLE anomaly_alerts (
    id              BIGSERIAL PRIMARY KEY,
    rule            TEXT   NOT NULL CHECK (rule ~ '^[a-z0-9_]+$'),
    severity        TEXT   NOT NULL CHECK (severity IN ('warning', 'high', 'critical')),
    telematik_id    TEXT   NOT NULL REFERENCES pharmacies (telematik_id),
    operator_id     TEXT,
    subject         TEXT   NOT NULL,
    open_key        TEXT,
    window_start    BIGINT NOT NULL,
    window_end      BIGINT NOT NULL CHECK (window_end >= window_start),
    evidence        TEXT   NOT NULL,
    action_taken    TEXT   NOT NULL
        CHECK (action_taken IN ('warn', 'throttle', 'lock_operator', 'lock_pharmacy')),
    occurrences     BIGINT NOT NULL CHECK (occurrences >= 1),
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    acknowledged_at BIGINT,
    acknowledged_by TEXT,
    comment         TEXT,
    CONSTRAINT anomaly_alerts_open_key UNIQUE (open_key),
    CONSTRAINT anomaly_alerts_open_or_acknowledged
        CHECK ((open_key IS NULL) = (acknowledged_at IS NOT NULL)
           AND (acknowledged_at IS NULL) = (acknowledged_by IS NULL)
           AND (acknowledged_at IS NULL) = (comment IS NULL))
);

CREATE INDEX anomaly_alerts_open_rule ON anomaly_alerts (rule) WHERE acknowledged_at IS NULL;
CREATE INDEX anomaly_alerts_pharmacy ON anomaly_alerts (telematik_id, created_at);

-- An acknowledged alert is final, and no alert is ever deleted.
CREATE FUNCTION anomaly_alerts_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.acknowledged_at IS NULL THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '% on % rejected: acknowledged alerts are final and alerts are kept',
        TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER anomaly_alerts_final BEFORE UPDATE OR DELETE ON anomaly_alerts
    FOR EACH ROW EXECUTE FUNCTION anomaly_alerts_reject_change();
CREATE TRIGGER anomaly_alerts_no_truncate BEFORE TRUNCATE ON anomaly_alerts
    FOR EACH STATEMENT EXECUTE FUNCTION anomaly_alerts_reject_change();

-- A throttled pharmacy: lowered rate limits until `throttled_until`, read by the group-commit
-- writer next to the locks. One row per pharmacy; a new throttle replaces the old one.
CREATE TABLE pharmacy_throttles (
    telematik_id     TEXT   NOT NULL PRIMARY KEY REFERENCES pharmacies (telematik_id),
    pharmacy_burst   BIGINT NOT NULL CHECK (pharmacy_burst >= 1),
    pharmacy_per_day BIGINT NOT NULL CHECK (pharmacy_per_day >= 1),
    throttled_until  BIGINT NOT NULL,
    alert_id         BIGINT NOT NULL REFERENCES anomaly_alerts (id),
    created_at       BIGINT NOT NULL
);

-- The holder rules read one holder's certificates.
CREATE INDEX certificate_ledger_holder_key ON certificate_ledger (holder_key)
    WHERE holder_key IS NOT NULL;
