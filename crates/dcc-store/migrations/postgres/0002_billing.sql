-- Billing (PostgreSQL). Never edit once released: the runner checksums this file.

-- Hex HMAC-SHA256 (server secret) over the standardised names and date of birth: recognises
-- the same holder (same-visit second dose, later fraud detection) without storing personal
-- data. NULL for rows written before billing existed.
ALTER TABLE certificate_ledger ADD COLUMN holder_key TEXT;

CREATE INDEX certificate_ledger_revoked ON certificate_ledger (revocation_reason)
    WHERE revocation_reason IS NOT NULL;

-- One closed statement per pharmacy and month; `content` is the format-independent JSON the
-- renderings are made from, `content_hash` its hex SHA-256. Immutable once written.
CREATE TABLE billing_statements (
    telematik_id TEXT   NOT NULL REFERENCES pharmacies (telematik_id),
    month        TEXT   NOT NULL CHECK (length(month) = 7),
    content      TEXT   NOT NULL,
    content_hash TEXT   NOT NULL,
    issued       BIGINT NOT NULL,
    billed       BIGINT NOT NULL,
    total_cents  BIGINT NOT NULL,
    closed_at    BIGINT NOT NULL,
    CONSTRAINT billing_statements_pkey PRIMARY KEY (telematik_id, month)
);

CREATE INDEX billing_statements_month ON billing_statements (month);

-- A month whose close finished: every statement of it is written.
CREATE TABLE billing_months (
    month       TEXT   NOT NULL CHECK (length(month) = 7),
    closed_at   BIGINT NOT NULL,
    statements  BIGINT NOT NULL,
    total_cents BIGINT NOT NULL,
    CONSTRAINT billing_months_pkey PRIMARY KEY (month)
);

-- Certificates revoked as fraud, and where billing dealt with them: `excluded` from the
-- statement of their own month, or `corrected` in a later one after being billed.
CREATE TABLE billing_fraud_adjustments (
    uvci         TEXT NOT NULL REFERENCES certificate_ledger (uvci),
    telematik_id TEXT NOT NULL,
    month        TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('excluded', 'corrected')),
    CONSTRAINT billing_fraud_adjustments_pkey PRIMARY KEY (uvci)
);

-- Who fetched which statement when (append-only).
CREATE TABLE billing_fetches (
    id           BIGSERIAL PRIMARY KEY,
    telematik_id TEXT   NOT NULL,
    month        TEXT   NOT NULL,
    format       TEXT   NOT NULL,
    fetched_at   BIGINT NOT NULL
);

CREATE INDEX billing_fetches_month ON billing_fetches (month, telematik_id);

CREATE FUNCTION billing_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% on % rejected: closed billing data is immutable', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER billing_statements_no_change BEFORE UPDATE OR DELETE ON billing_statements
    FOR EACH ROW EXECUTE FUNCTION billing_reject_change();
CREATE TRIGGER billing_statements_no_truncate BEFORE TRUNCATE ON billing_statements
    FOR EACH STATEMENT EXECUTE FUNCTION billing_reject_change();
CREATE TRIGGER billing_months_no_change BEFORE UPDATE OR DELETE ON billing_months
    FOR EACH ROW EXECUTE FUNCTION billing_reject_change();
CREATE TRIGGER billing_months_no_truncate BEFORE TRUNCATE ON billing_months
    FOR EACH STATEMENT EXECUTE FUNCTION billing_reject_change();
CREATE TRIGGER billing_fraud_adjustments_no_change
    BEFORE UPDATE OR DELETE ON billing_fraud_adjustments
    FOR EACH ROW EXECUTE FUNCTION billing_reject_change();
CREATE TRIGGER billing_fraud_adjustments_no_truncate BEFORE TRUNCATE ON billing_fraud_adjustments
    FOR EACH STATEMENT EXECUTE FUNCTION billing_reject_change();
CREATE TRIGGER billing_fetches_no_change BEFORE UPDATE OR DELETE ON billing_fetches
    FOR EACH ROW EXECUTE FUNCTION billing_reject_change();
CREATE TRIGGER billing_fetches_no_truncate BEFORE TRUNCATE ON billing_fetches
    FOR EACH STATEMENT EXECUTE FUNCTION billing_reject_change();
