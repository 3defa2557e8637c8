-- migrate:up
CREATE TABLE users (
  user_id       text PRIMARY KEY,
  username      text NOT NULL UNIQUE,
  password_hash text NOT NULL,
  role          text NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
  created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
  key_id       text PRIMARY KEY,
  user_id      text NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
  label        text NOT NULL DEFAULT '',
  -- the secret itself is never stored; see services/gateway for how requests are verified
  secret_hash  text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,
  revoked_at   timestamptz
);
CREATE INDEX api_keys_user_idx ON api_keys (user_id);

CREATE TABLE refresh_tokens (
  token_hash text PRIMARY KEY,
  user_id    text NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
  expires_at timestamptz NOT NULL,
  revoked_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- migrate:down
DROP TABLE refresh_tokens;
DROP TABLE api_keys;
DROP TABLE users;
