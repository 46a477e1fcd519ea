-- Users: everyone who signs in, customers and support staff alike.
--
-- Email addresses are unique whatever their case; the role decides what a
-- user sees (customers only their own tickets).
CREATE TABLE users (
	id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	email       text NOT NULL CHECK (email LIKE '%_@_%'),
	full_name   text NOT NULL CHECK (full_name <> ''),
	role        text NOT NULL DEFAULT 'customer'
	            CHECK (role IN ('customer', 'agent', 'admin')),
	is_active   boolean NOT NULL DEFAULT true,
	created_at  timestamptz NOT NULL DEFAULT now(),
	updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX users_email_key ON users (lower(email));

COMMENT ON TABLE users IS 'Customers and support staff; deactivate, never delete.';
