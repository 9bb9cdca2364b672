-- Signing key rotation: when a published next key becomes the signer, and until when a retired
-- key stays published so that the tokens it signed can still be verified.

ALTER TABLE signing_keys ADD COLUMN activates_at INTEGER;
ALTER TABLE signing_keys ADD COLUMN retires_at INTEGER;

CREATE UNIQUE INDEX one_primary_key_per_environment ON signing_keys (tenant, environment)
    WHERE state = 'primary';
CREATE UNIQUE INDEX one_next_key_per_environment ON signing_keys (tenant, environment)
    WHERE state = 'next';
