-- The built-in resource `fennec-control` (scopes `read` and `write`) in every tenant's
-- master environment: clients granted its scopes automate Fennec through the Control API
-- (PostgreSQL).

INSERT INTO applications (id, tenant, environment, name, display_name, is_resource, is_client,
                          auth_method, token_lifetime_secs, client_credentials_enabled,
                          created_at, notes)
SELECT gen_random_uuid()::text, e.tenant, e.name, 'fennec-control', 'Fennec Control API',
       TRUE, FALSE, NULL, 3600, TRUE, e.created_at, ''
FROM environments e
WHERE e.name = 'master'
  AND NOT EXISTS (SELECT 1 FROM applications a
                  WHERE a.tenant = e.tenant AND a.environment = 'master'
                    AND a.name = 'fennec-control');

INSERT INTO resource_scopes (application_id, scope, position)
SELECT a.id, s.scope, s.position
FROM applications a, (VALUES ('read', 0), ('write', 1)) AS s (scope, position)
WHERE a.environment = 'master' AND a.name = 'fennec-control' AND a.is_resource
  AND NOT EXISTS (SELECT 1 FROM resource_scopes r WHERE r.application_id = a.id);
