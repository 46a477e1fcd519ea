-- Baseline of the helpdesk schema: what the archived migrations
-- 20231106_create_users.sql and 20231120_create_sessions.sql (kept beside
-- this file, with their rollbacks) built, folded into one script.
--
-- A new database starts here; the migrations in applied/ and pending/
-- build on it.  Keep it in step with the archived files: loading this file
-- and running them give the same schema.

CREATE TABLE users (
	id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	email          text NOT NULL CHECK (email LIKE '%_@_%'),
	full_name      text NOT NULL CHECK (full_name <> ''),
	role           text NOT NULL DEFAULT 'customer'
	               CHECK (role IN ('customer', 'agent', 'admin')),
	is_active      boolean NOT NULL DEFAULT true,
	created_at     timestamptz NOT NULL DEFAULT now(),
	updated_at     timestamptz NOT NULL DEFAULT now(),
	last_login_at  timestamptz
);

CREATE UNIQUE INDEX users_email_key ON users (lower(email));

COMMENT ON TABLE users IS 'Customers and support staff; deactivate, never delete.';

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

COMMENT ON TABLE sessions IS 'Signed-in sessions; the token itself is never stored.';
