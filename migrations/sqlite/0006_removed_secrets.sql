-- Client secrets removed lately, read by every instance to drop what it remembers of them.
-- Rows name the application without referring to it, so deleting it keeps them.

CREATE TABLE removed_secrets (
    secret_id      TEXT NOT NULL,
    application_id TEXT NOT NULL,
    removed_at     INTEGER NOT NULL
);

CREATE INDEX removed_secrets_by_time ON removed_secrets (removed_at);
