-- Initial schema (SQLite). Never edit once released: the runner checksums this file.
-- Times are unix seconds (INTEGER); hashes are lowercase hex TEXT.

CREATE TABLE pharmacies (
    telematik_id   TEXT    NOT NULL PRIMARY KEY,
    name           TEXT    NOT NULL,
    address        TEXT    NOT NULL,
    issuer_segment TEXT    NOT NULL UNIQUE
        CHECK (issuer_segment <> '' AND issuer_segment NOT GLOB '*[^A-Z0-9]*'),
    status         TEXT    NOT NULL CHECK (status IN ('active', 'suspended')),
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
) STRICT;

-- The certificate ledger holds no names and no dates of birth.
CREATE TABLE certificate_ledger (
    uvci              TEXT    NOT NULL PRIMARY KEY,
    telematik_id      TEXT    NOT NULL REFERENCES pharmacies (telematik_id),
    certificate_type  TEXT    NOT NULL CHECK (certificate_type IN ('v', 't', 'r')),
    product           TEXT    NOT NULL,
    dose_number       INTEGER,
    total_doses       INTEGER,
    event_date        TEXT    NOT NULL,
    kid               TEXT    NOT NULL,
    uci_hash          TEXT    NOT NULL,
    issued_at         INTEGER NOT NULL,
    expires_at        INTEGER NOT NULL,
    idempotency_key   TEXT,
    request_hash      TEXT    NOT NULL,
    revoked_at        INTEGER,
    revocation_reason TEXT,
    UNIQUE (telematik_id, idempotency_key)
) STRICT;

CREATE INDEX certificate_ledger_pharmacy_issued ON certificate_ledger (telematik_id, issued_at);
CREATE INDEX certificate_ledger_uci_hash ON certificate_ledger (uci_hash);

-- The only table with personal data: the HC1 text, kept briefly for idempotent retries.
CREATE TABLE issued_responses (
    uvci       TEXT    NOT NULL PRIMARY KEY REFERENCES certificate_ledger (uvci),
    hc1        TEXT    NOT NULL,
    keep_until INTEGER NOT NULL
) STRICT;

CREATE INDEX issued_responses_keep_until ON issued_responses (keep_until);

CREATE TABLE audit_log (
    seq          INTEGER NOT NULL PRIMARY KEY CHECK (seq > 0),
    at           INTEGER NOT NULL,
    kind         TEXT    NOT NULL,
    telematik_id TEXT,
    uvci         TEXT,
    detail       TEXT    NOT NULL,
    prev_hash    TEXT    NOT NULL,
    hash         TEXT    NOT NULL
) STRICT;

CREATE TABLE audit_head (
    id   INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT    NOT NULL
) STRICT;

INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
BEGIN
    SELECT RAISE(ABORT, 'audit_head cannot be deleted');
END;
