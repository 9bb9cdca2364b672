-- The built-in resource `fennec-control` (scopes `read` and `write`) in every tenant's
-- master environment: clients granted its scopes automate Fennec through the Control API.

INSERT INTO applications (id, tenant, environment, name, display_name, is_resource, is_client,
                          auth_method, token_lifetime_secs, client_credentials_enabled,
                          created_at, notes)
SELECT lower(hex(randomblob(16))), e.tenant, e.name, 'fennec-control', 'Fennec Control API',
       1, 0, NULL, 3600, 1, e.created_at, ''
FROM environments e
WHERE e.name = 'master'
  AND NOT EXISTS (SELECT 1 FROM applications a
                  WHERE a.tenant = e.tenant AND a.environment = 'master'
                    AND a.name = 'fennec-control');

INSERT INTO resource_scopes (application_id, scope, position)
SELECT a.id, s.scope, s.position
FROM applications a, (SELECT 'read' AS scope, 0 AS position
                      UNION ALL SELECT 'write', 1) s
WHERE a.environment = 'master' AND a.name = 'fennec-control' AND a.is_resource = 1
  AND NOT EXISTS (SELECT 1 FROM resource_scopes r WHERE r.application_id = a.id);
