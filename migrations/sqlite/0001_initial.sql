-- Fennec's initial schema for SQLite: administrators, sessions, tenants, environments,
-- signing keys, application registrations with their scopes, grants and secrets, and the audit log.

CREATE TABLE admins (
    id            TEXT PRIMARY KEY NOT NULL,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);

-- The one-time link that creates the first administrator; only a hash of its token is kept.
CREATE TABLE setup_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE admin_sessions (
    token_hash TEXT PRIMARY KEY NOT NULL,
    admin_id   TEXT NOT NULL REFERENCES admins (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);

-- Failed sign-ins per username, used to slow down password guessing.
CREATE TABLE login_failures (
    username     TEXT PRIMARY KEY NOT NULL,
    failures     INTEGER NOT NULL,
    last_failure INTEGER NOT NULL
);

CREATE TABLE tenants (
    name       TEXT PRIMARY KEY NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE environments (
    tenant       TEXT NOT NULL REFERENCES tenants (name) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    display_name TEXT NOT NULL,
    sort_order   INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (tenant, name)
);

CREATE TABLE signing_keys (
    kid         TEXT PRIMARY KEY NOT NULL,
    tenant      TEXT NOT NULL,
    environment TEXT NOT NULL,
    alg         TEXT NOT NULL,
    private_der BLOB NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('primary', 'next', 'retired')),
    created_at  INTEGER NOT NULL,
    FOREIGN KEY (tenant, environment) REFERENCES environments (tenant, name) ON DELETE CASCADE
);

CREATE TABLE applications (
    id                         TEXT PRIMARY KEY NOT NULL,
    tenant                     TEXT NOT NULL,
    environment                TEXT NOT NULL,
    name                       TEXT NOT NULL,
    display_name               TEXT NOT NULL,
    is_resource                INTEGER NOT NULL,
    is_client                  INTEGER NOT NULL,
    auth_method                TEXT,
    token_lifetime_secs        INTEGER NOT NULL DEFAULT 3600,
    client_credentials_enabled INTEGER NOT NULL DEFAULT 1,
    created_at                 INTEGER NOT NULL,
    UNIQUE (tenant, environment, name),
    FOREIGN KEY (tenant, environment) REFERENCES environments (tenant, name) ON DELETE CASCADE
);

CREATE TABLE resource_scopes (
    application_id TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    scope          TEXT NOT NULL,
    position       INTEGER NOT NULL,
    PRIMARY KEY (application_id, scope)
);

-- One row per (client, resource scope) granted; a resource is granted when any of its scopes is.
CREATE TABLE client_grants (
    client_id   TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    resource_id TEXT NOT NULL,
    scope       TEXT NOT NULL,
    position    INTEGER NOT NULL,
    PRIMARY KEY (client_id, resource_id, scope),
    FOREIGN KEY (resource_id, scope) REFERENCES resource_scopes (application_id, scope) ON DELETE CASCADE
);

CREATE TABLE client_secrets (
    id             TEXT PRIMARY KEY NOT NULL,
    application_id TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    hash           TEXT NOT NULL,
    info           TEXT,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER
);

CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    tenant      TEXT,
    environment TEXT,
    action      TEXT NOT NULL,
    target      TEXT,
    detail      TEXT NOT NULL
);

CREATE INDEX client_secrets_by_application ON client_secrets (application_id);
CREATE INDEX audit_log_by_tenant ON audit_log (tenant, at);
