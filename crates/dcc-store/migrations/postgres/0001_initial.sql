-- Initial schema (PostgreSQL). Never edit once released: the runner checksums this file.
-- Times are unix seconds (BIGINT); hashes are lowercase hex TEXT. Unique constraints are named
-- explicitly because the store maps them to typed conflicts.

CREATE TABLE pharmacies (
    telematik_id   TEXT   NOT NULL,
    name           TEXT   NOT NULL,
    address        TEXT   NOT NULL,
    issuer_segment TEXT   NOT NULL CHECK (issuer_segment ~ '^[A-Z0-9]+$'),
    status         TEXT   NOT NULL CHECK (status IN ('active', 'suspended')),
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    CONSTRAINT pharmacies_pkey PRIMARY KEY (telematik_id),
    CONSTRAINT pharmacies_issuer_segment_key UNIQUE (issuer_segment)
);

-- The certificate ledger holds no names and no dates of birth.
CREATE TABLE certificate_ledger (
    uvci              TEXT   NOT NULL,
    telematik_id      TEXT   NOT NULL REFERENCES pharmacies (telematik_id),
    certificate_type  TEXT   NOT NULL CHECK (certificate_type IN ('v', 't', 'r')),
    product           TEXT   NOT NULL,
    dose_number       BIGINT,
    total_doses       BIGINT,
    event_date        TEXT   NOT NULL,
    kid               TEXT   NOT NULL,
    uci_hash          TEXT   NOT NULL,
    issued_at         BIGINT NOT NULL,
    expires_at        BIGINT NOT NULL,
    idempotency_key   TEXT,
    request_hash      TEXT   NOT NULL,
    revoked_at        BIGINT,
    revocation_reason TEXT,
    CONSTRAINT certificate_ledger_pkey PRIMARY KEY (uvci),
    CONSTRAINT certificate_ledger_idempotency_key UNIQUE (telematik_id, idempotency_key)
);

CREATE INDEX certificate_ledger_pharmacy_issued ON certificate_ledger (telematik_id, issued_at);
CREATE INDEX certificate_ledger_uci_hash ON certificate_ledger (uci_hash);

-- The only table with personal data: the HC1 text, kept briefly for idempotent retries.
CREATE TABLE issued_responses (
    uvci       TEXT   NOT NULL REFERENCES certificate_ledger (uvci),
    hc1        TEXT   NOT NULL,
    keep_until BIGINT NOT NULL,
    CONSTRAINT issued_responses_pkey PRIMARY KEY (uvci)
);

CREATE INDEX issued_responses_keep_until ON issued_responses (keep_until);

CREATE TABLE audit_log (
    seq          BIGINT NOT NULL PRIMARY KEY CHECK (seq > 0),
    at           BIGINT NOT NULL,
    kind         TEXT   NOT NULL,
    telematik_id TEXT,
    uvci         TEXT,
    detail       TEXT   NOT NULL,
    prev_hash    TEXT   NOT NULL,
    hash         TEXT   NOT NULL
);

CREATE TABLE audit_head (
    id   BIGINT NOT NULL PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash TEXT   NOT NULL
);

INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE FUNCTION audit_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% on % rejected: the audit log is append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_reject_change();

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_reject_change();

CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_reject_change();

CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
    FOR EACH ROW EXECUTE FUNCTION audit_reject_change();

CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head
    FOR EACH STATEMENT EXECUTE FUNCTION audit_reject_change();
