-- Tickets and their life cycle.
CREATE TYPE ticket_status AS ENUM ('open', 'pending', 'resolved', 'closed');

CREATE TABLE tickets (
	id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	customer_id  bigint NOT NULL REFERENCES customers (id),
	agent_id     bigint REFERENCES agents (id),      -- NULL: not assigned yet
	subject      text NOT NULL CHECK (subject <> ''),
	body         text NOT NULL DEFAULT '',
	status       ticket_status NOT NULL DEFAULT 'open',
	priority     smallint NOT NULL DEFAULT 3 CHECK (priority BETWEEN 1 AND 5),
	created_at   timestamptz NOT NULL DEFAULT now(),
	updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX tickets_customer_id_idx ON tickets (customer_id);

COMMENT ON COLUMN tickets.priority IS '1 = drop everything; 5 = when there''s time';
