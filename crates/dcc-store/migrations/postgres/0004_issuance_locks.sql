-- The kill switch (PostgreSQL). Never edit once released: the runner checksums this file.
-- One row per lock in force; unlocking deletes the row (the audit log keeps the history).
-- scope 'all' has target ''; scope 'pharmacy' has the Telematik-ID; scope 'operator' the
-- operator's id.
CREATE TABLE issuance_locks (
    scope     TEXT   NOT NULL CHECK (scope IN ('all', 'pharmacy', 'operator')),
    target    TEXT   NOT NULL CHECK ((scope = 'all') = (target = '')),
    reason    TEXT   NOT NULL CHECK (reason ~ '^[a-z0-9_]+$'),
    comment   TEXT   NOT NULL,
    locked_at BIGINT NOT NULL,
    CONSTRAINT issuance_locks_pkey PRIMARY KEY (scope, target)
);
