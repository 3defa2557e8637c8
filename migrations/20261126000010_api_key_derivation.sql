-- migrate:up
-- API secrets are derived on the server: secret = HMAC-SHA256(server key, key_id | salt). The salt is
-- random per key; secret_hash holds SHA-256(secret) so that a changed server key is detected instead
-- of silently failing every signature. See docs/auth.md.
ALTER TABLE api_keys ADD COLUMN salt text NOT NULL DEFAULT '';
CREATE UNIQUE INDEX users_username_lower_idx ON users (lower(username));

-- migrate:down
DROP INDEX users_username_lower_idx;
ALTER TABLE api_keys DROP COLUMN salt;
