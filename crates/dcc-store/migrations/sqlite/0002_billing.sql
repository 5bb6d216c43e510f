-- Billing (SQLite). Never edit once released: the runner checksums this file.

-- Hex HMAC-SHA256 (server secret) over the standardised names and date of birth: recognises
-- the same holder (same-visit second dose, later fraud detection) without storing personal
-- data. NULL for rows written before billing existed.
ALTER TABLE certificate_ledger ADD COLUMN holder_key TEXT;

CREATE INDEX certificate_ledger_revoked ON certificate_ledger (revocation_reason)
    WHERE revocation_reason IS NOT NULL;

-- One closed statement per pharmacy and month; `content` is the format-independent JSON the
-- renderings are made from, `content_hash` its hex SHA-256. Immutable once written.
CREATE TABLE billing_statements (
    telematik_id TEXT    NOT NULL REFERENCES pharmacies (telematik_id),
    month        TEXT    NOT NULL CHECK (length(month) = 7),
    content      TEXT    NOT NULL,
    content_hash TEXT    NOT NULL,
    issued       INTEGER NOT NULL,
    billed       INTEGER NOT NULL,
    total_cents  INTEGER NOT NULL,
    closed_at    INTEGER NOT NULL,
    PRIMARY KEY (telematik_id, month)
) STRICT;

CREATE INDEX billing_statements_month ON billing_statements (month);

-- A month whose close finished: every statement of it is written.
CREATE TABLE billing_months (
    month       TEXT    NOT NULL PRIMARY KEY CHECK (length(month) = 7),
    closed_at   INTEGER NOT NULL,
    statements  INTEGER NOT NULL,
    total_cents INTEGER NOT NULL
) STRICT;

-- Certificates revoked as fraud, and where billing dealt with them: `excluded` from the
-- statement of their own month, or `corrected` in a later one after being billed.
CREATE TABLE billing_fraud_adjustments (
    uvci         TEXT NOT NULL PRIMARY KEY REFERENCES certificate_ledger (uvci),
    telematik_id TEXT NOT NULL,
    month        TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('excluded', 'corrected'))
) STRICT;

-- Who fetched which statement when (append-only).
CREATE TABLE billing_fetches (
    id           INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    telematik_id TEXT    NOT NULL,
    month        TEXT    NOT NULL,
    format       TEXT    NOT NULL,
    fetched_at   INTEGER NOT NULL
) STRICT;

CREATE INDEX billing_fetches_month ON billing_fetches (month, telematik_id);

CREATE TRIGGER billing_statements_no_update BEFORE UPDATE ON billing_statements
BEGIN
    SELECT RAISE(ABORT, 'billing_statements are immutable');
END;

CREATE TRIGGER billing_statements_no_delete BEFORE DELETE ON billing_statements
BEGIN
    SELECT RAISE(ABORT, 'billing_statements are immutable');
END;

CREATE TRIGGER billing_months_no_update BEFORE UPDATE ON billing_months
BEGIN
    SELECT RAISE(ABORT, 'billing_months are immutable');
END;

CREATE TRIGGER billing_months_no_delete BEFORE DELETE ON billing_months
BEGIN
    SELECT RAISE(ABORT, 'billing_months are immutable');
END;

CREATE TRIGGER billing_fraud_adjustments_no_update BEFORE UPDATE ON billing_fraud_adjustments
BEGIN
    SELECT RAISE(ABORT, 'billing_fraud_adjustments are immutable');
END;

CREATE TRIGGER billing_fraud_adjustments_no_delete BEFORE DELETE ON billing_fraud_adjustments
BEGIN
    SELECT RAISE(ABORT, 'billing_fraud_adjustments are immutable');
END;

CREATE TRIGGER billing_fetches_no_update BEFORE UPDATE ON billing_fetches
BEGIN
    SELECT RAISE(ABORT, 'billing_fetches are append-only');
END;

CREATE TRIGGER billing_fetches_no_delete BEFORE DELETE ON billing_fetches
BEGIN
    SELECT RAISE(ABORT, 'billing_fetches are append-only');
END;
