-- Sign-in sessions, and when each user last signed in.
--
-- Only a SHA-256 of the session token is stored: a leaked table does not
-- let anyone in.  Expired sessions are purged by the nightly job.
CREATE TABLE sessions (
	id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	user_id       bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	token_sha256  bytea NOT NULL UNIQUE CHECK (length(token_sha256) = 32),
	ip_address    inet,
	user_agent    text,
	created_at    timestamptz NOT NULL DEFAULT now(),
	last_seen_at  timestamptz NOT NULL DEFAULT now(),
	expires_at    timestamptz NOT NULL,
	CHECK (expires_at > created_at)
);

CREATE INDEX sessions_user_id_idx ON sessions (user_id);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

ALTER TABLE users ADD COLUMN last_login_at timestamptz;

COMMENT ON TABLE sessions IS 'Signed-in sessions; the token itself is never stored.';
