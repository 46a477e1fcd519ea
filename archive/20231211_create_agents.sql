-- Agents: the support staff who answer tickets; and updated_at on customers.
CREATE TABLE agents (
	id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	email       text NOT NULL UNIQUE,
	full_name   text NOT NULL,
	active      boolean NOT NULL DEFAULT true,
	created_at  timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE customers ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();

COMMENT ON TABLE agents IS 'Support staff; deactivate, never delete.';
