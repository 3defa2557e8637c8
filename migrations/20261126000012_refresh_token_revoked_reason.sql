-- migrate:up
-- Why a refresh token stopped working, so that presenting it again gets the right answer: only a
-- token that was already rotated signals theft; one revoked by a logout, or by the sign-out that
-- followed a theft, just needs a new login. Tokens revoked before this column have none (NULL) and
-- are answered as rotated ones were.
ALTER TABLE refresh_tokens ADD COLUMN revoked_reason text
  CHECK (revoked_reason IN ('rotated', 'logout', 'logout-all', 'reuse'));

-- migrate:down
ALTER TABLE refresh_tokens DROP COLUMN revoked_reason;
