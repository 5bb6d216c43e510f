-- The DSC/key registry (issue #4): every DSC the certificate server knows, per certificate
-- type, with at most one active for signing. Never edit once released.
-- `certificate` is the DSC as hex DER; `key_ref` is JSON naming where the private key lives
-- (a file path or a PKCS#11 token and key label/id), never key material or a PIN.
CREATE TABLE signing_keys (
    kid              TEXT    NOT NULL PRIMARY KEY,
    certificate_type TEXT    NOT NULL CHECK (certificate_type IN ('v', 't', 'r')),
    certificate      TEXT    NOT NULL,
    key_ref          TEXT    NOT NULL,
    status           TEXT    NOT NULL CHECK (status IN ('active', 'retired')),
    created_at       INTEGER NOT NULL,
    activated_at     INTEGER NOT NULL,
    retired_at       INTEGER
) STRICT;

-- At most one active DSC per type, also with several instances rotating at once.
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (certificate_type) WHERE status = 'active';

-- How long a retired DSC must stay published: the latest expiry of what it signed.
CREATE INDEX certificate_ledger_kid_expires ON certificate_ledger (kid, expires_at);
