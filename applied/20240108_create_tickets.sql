-- Tickets: a request from a customer, worked on by an agent.
--
-- A ticket moves new -> open -> (pending | on_hold) -> solved -> closed;
-- the application enforces the moves, the database only the values.
CREATE TYPE ticket_status AS ENUM ('new', 'open', 'pending', 'on_hold', 'solved', 'closed');
CREATE TYPE ticket_priority AS ENUM ('low', 'normal', 'high', 'urgent');

CREATE TABLE tickets (
	id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	requester_id  bigint NOT NULL REFERENCES users (id),
	assignee_id   bigint REFERENCES users (id),      -- NULL: not assigned yet
	subject       text NOT NULL CHECK (subject <> ''),
	description   text NOT NULL DEFAULT '',
	status        ticket_status NOT NULL DEFAULT 'new',
	priority      ticket_priority NOT NULL DEFAULT 'normal',
	created_at    timestamptz NOT NULL DEFAULT now(),
	updated_at    timestamptz NOT NULL DEFAULT now(),
	solved_at     timestamptz,
	CONSTRAINT tickets_solved_at_set CHECK ((status IN ('solved', 'closed')) = (solved_at IS NOT NULL))
);

CREATE INDEX tickets_requester_id_idx ON tickets (requester_id, created_at DESC);
CREATE INDEX tickets_assignee_id_idx ON tickets (assignee_id) WHERE assignee_id IS NOT NULL;
CREATE INDEX tickets_status_idx ON tickets (status, priority);

COMMENT ON TABLE tickets IS 'Support requests; one row per conversation with a customer.';
COMMENT ON COLUMN tickets.solved_at IS 'Set when the ticket is solved; cleared if it reopens.';
