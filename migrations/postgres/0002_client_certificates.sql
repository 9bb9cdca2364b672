-- Certificates for private_key_jwt clients, the single-use store of client assertion ids,
-- and the per-environment switch for strict assertion audiences (PostgreSQL).

-- Only the public certificate is kept; its details are read from der again on load.
CREATE TABLE client_certificates (
    id                TEXT PRIMARY KEY,
    application_id    TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    der               BYTEA NOT NULL,
    sha256_thumbprint TEXT NOT NULL,
    created_at        BIGINT NOT NULL,
    UNIQUE (application_id, sha256_thumbprint)
);

-- A (client, jti) pair stays here until the assertion's exp, so that each assertion is used
-- once, whichever instance receives it.
CREATE TABLE used_assertions (
    application_id TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    jti            TEXT NOT NULL,
    expires_at     BIGINT NOT NULL,
    PRIMARY KEY (application_id, jti)
);

CREATE INDEX used_assertions_by_expiry ON used_assertions (expires_at);

ALTER TABLE environments ADD COLUMN strict_assertion_audience BOOLEAN NOT NULL DEFAULT FALSE;
