-- Baseline of the ticketing schema: what 20231204_create_customers.sql and
-- 20231211_create_agents.sql (kept beside this file) built, folded into one
-- script.  A new database starts here; the migrations in applied/ and
-- pending/ build on it.

CREATE TABLE customers (
	id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	email       text NOT NULL,
	full_name   text NOT NULL,
	company     text,
	created_at  timestamptz NOT NULL DEFAULT now(),
	updated_at  timestamptz NOT NULL DEFAULT now()
);

-- one account per address, whatever its case
CREATE UNIQUE INDEX customers_email_key ON customers (lower(email));

CREATE TABLE agents (
	id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	email       text NOT NULL UNIQUE,
	full_name   text NOT NULL,
	active      boolean NOT NULL DEFAULT true,
	created_at  timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE agents IS 'Support staff; deactivate, never delete.';
