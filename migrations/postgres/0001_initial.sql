-- Fennec's initial schema for PostgreSQL, the twin of the SQLite one: administrators, sessions,
-- tenants, environments, signing keys, application registrations with their scopes, grants and
-- secrets, and the audit log. Names are compared and sorted byte-wise ("C"), as in SQLite.

CREATE TABLE admins (
    id            TEXT PRIMARY KEY,
    username      TEXT COLLATE "C" NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);

-- The one-time link that creates the first administrator; only a hash of its token is kept.
CREATE TABLE setup_tokens (
    token_hash TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL
);

CREATE TABLE admin_sessions (
    token_hash TEXT PRIMARY KEY,
    admin_id   TEXT NOT NULL REFERENCES admins (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

-- Failed sign-ins per username, used to slow down password guessing.
CREATE TABLE login_failures (
    username     TEXT PRIMARY KEY,
    failures     BIGINT NOT NULL,
    last_failure BIGINT NOT NULL
);

CREATE TABLE tenants (
    name       TEXT COLLATE "C" PRIMARY KEY,
    created_at BIGINT NOT NULL
);

CREATE TABLE environments (
    tenant       TEXT COLLATE "C" NOT NULL REFERENCES tenants (name) ON DELETE CASCADE,
    name         TEXT COLLATE "C" NOT NULL,
    display_name TEXT NOT NULL,
    sort_order   BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (tenant, name)
);

CREATE TABLE signing_keys (
    kid         TEXT PRIMARY KEY,
    tenant      TEXT COLLATE "C" NOT NULL,
    environment TEXT COLLATE "C" NOT NULL,
    alg         TEXT NOT NULL,
    private_der BYTEA NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('primary', 'next', 'retired')),
    created_at  BIGINT NOT NULL,
    FOREIGN KEY (tenant, environment) REFERENCES environments (tenant, name) ON DELETE CASCADE
);

CREATE TABLE applications (
    id                         TEXT PRIMARY KEY,
    tenant                     TEXT COLLATE "C" NOT NULL,
    environment                TEXT COLLATE "C" NOT NULL,
    name                       TEXT COLLATE "C" NOT NULL,
    display_name               TEXT NOT NULL,
    is_resource                BOOLEAN NOT NULL,
    is_client                  BOOLEAN NOT NULL,
    auth_method                TEXT,
    token_lifetime_secs        BIGINT NOT NULL DEFAULT 3600,
    client_credentials_enabled BOOLEAN NOT NULL DEFAULT TRUE,
    created_at                 BIGINT NOT NULL,
    UNIQUE (tenant, environment, name),
    FOREIGN KEY (tenant, environment) REFERENCES environments (tenant, name) ON DELETE CASCADE
);

CREATE TABLE resource_scopes (
    application_id TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    scope          TEXT COLLATE "C" NOT NULL,
    position       BIGINT NOT NULL,
    PRIMARY KEY (application_id, scope)
);

-- One row per (client, resource scope) granted; a resource is granted when any of its scopes is.
CREATE TABLE client_grants (
    client_id   TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    resource_id TEXT NOT NULL,
    scope       TEXT COLLATE "C" NOT NULL,
    position    BIGINT NOT NULL,
    PRIMARY KEY (client_id, resource_id, scope),
    FOREIGN KEY (resource_id, scope) REFERENCES resource_scopes (application_id, scope) ON DELETE CASCADE
);

CREATE TABLE client_secrets (
    id             TEXT PRIMARY KEY,
    application_id TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    hash           TEXT NOT NULL,
    info           TEXT,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT
);

CREATE TABLE audit_log (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          BIGINT NOT NULL,
    actor       TEXT NOT NULL,
    tenant      TEXT COLLATE "C",
    environment TEXT COLLATE "C",
    action      TEXT NOT NULL,
    target      TEXT,
    detail      TEXT NOT NULL
);

CREATE INDEX client_secrets_by_application ON client_secrets (application_id);
CREATE INDEX audit_log_by_tenant ON audit_log (tenant, at);
