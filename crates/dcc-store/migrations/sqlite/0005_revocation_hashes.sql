-- Revocation (issue #7, SQLite). Never edit once released: the runner checksums this file.
-- The COUNTRYCODEUCI and SIGNATURE hashes of each certificate (base64 of 16 bytes, as
-- published), next to the UCI hash of 0001; NULL for rows written before this migration.
ALTER TABLE certificate_ledger ADD COLUMN country_code_uci_hash TEXT;
ALTER TABLE certificate_ledger ADD COLUMN signature_hash TEXT;

-- The published revocation list reads the revoked certificates only.
CREATE INDEX certificate_ledger_revoked_at ON certificate_ledger (revoked_at)
    WHERE revoked_at IS NOT NULL;
