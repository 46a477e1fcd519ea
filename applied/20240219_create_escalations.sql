-- Escalations: a ticket that missed (or is about to miss) its SLA goes up
-- a level, to a team lead at level 2 and to the support manager at level 3.
CREATE TABLE escalations (
	id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	ticket_id        bigint NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
	sla_policy_id    smallint REFERENCES sla_policies (id),   -- NULL: raised by hand
	level            smallint NOT NULL DEFAULT 1 CHECK (level BETWEEN 1 AND 3),
	reason           text NOT NULL
	                 CHECK (reason IN ('first_response_breach', 'resolution_breach', 'manual')),
	escalated_to     bigint NOT NULL REFERENCES users (id),
	created_at       timestamptz NOT NULL DEFAULT now(),
	acknowledged_at  timestamptz
);

-- at most one open escalation per ticket and reason
CREATE UNIQUE INDEX escalations_open_key ON escalations (ticket_id, reason)
	WHERE acknowledged_at IS NULL;
CREATE INDEX escalations_escalated_to_idx ON escalations (escalated_to)
	WHERE acknowledged_at IS NULL;

COMMENT ON TABLE escalations IS 'SLA breaches and manual escalations, until acknowledged.';
