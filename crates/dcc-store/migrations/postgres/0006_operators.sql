-- Operator accounts and sessions (issue #5, PostgreSQL). Never edit once released: the runner
-- checksums this file.
-- An operator belongs to one pharmacy (scope = its Telematik-ID) or to the association
-- (scope '*', role 'administrator'). The password is an argon2id PHC string; the TOTP secret
-- is base32 and NULL until the operator has enrolled the second factor.
CREATE TABLE operators (
    id             BIGSERIAL PRIMARY KEY,
    scope          TEXT    NOT NULL,
    username       TEXT    NOT NULL CHECK (username ~ '^[a-z0-9._-]+$'),
    role           TEXT    NOT NULL CHECK (role IN ('owner', 'pharmacist', 'technician', 'administrator')),
    password_hash  TEXT    NOT NULL,
    totp_secret    TEXT,
    totp_last_step BIGINT,
    failed_logins  BIGINT  NOT NULL DEFAULT 0,
    locked_until   BIGINT,
    disabled_at    BIGINT,
    created_at     BIGINT  NOT NULL,
    CHECK ((scope = '*') = (role = 'administrator')),
    UNIQUE (scope, username)
);

-- A session is stored by the SHA-256 of its token, bound to the client certificate of the
-- connection that created it. kind 'enrolment' is the short step between a right password
-- and a confirmed second factor.
CREATE TABLE operator_sessions (
    token_hash          TEXT   NOT NULL PRIMARY KEY,
    operator_id         BIGINT NOT NULL REFERENCES operators (id),
    kind                TEXT   NOT NULL CHECK (kind IN ('browser', 'api', 'enrolment')),
    certificate_binding TEXT   NOT NULL,
    csrf_token          TEXT   NOT NULL,
    pending_totp_secret TEXT,
    created_at          BIGINT NOT NULL,
    last_seen_at        BIGINT NOT NULL,
    expires_at          BIGINT NOT NULL,
    ended_at            BIGINT
);

CREATE INDEX operator_sessions_operator ON operator_sessions (operator_id);

-- Who issued each certificate (NULL for certificates issued before operator accounts).
ALTER TABLE certificate_ledger ADD COLUMN operator_id BIGINT REFERENCES operators (id);
CREATE INDEX certificate_ledger_operator_issued ON certificate_ledger (operator_id, issued_at);
