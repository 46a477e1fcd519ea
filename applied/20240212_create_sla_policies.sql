-- Service level targets, one policy per priority: how soon an agent must
-- first answer and how soon the ticket must be solved.  Clock time for now;
-- business_hours_only is there for the enterprise plans.
CREATE TABLE sla_policies (
	id                     smallint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	priority               ticket_priority NOT NULL UNIQUE,
	name                   text NOT NULL UNIQUE,
	first_response_within  interval NOT NULL CHECK (first_response_within > interval '0'),
	resolve_within         interval NOT NULL,
	business_hours_only    boolean NOT NULL DEFAULT false,
	CONSTRAINT sla_policies_resolve_after_response CHECK (resolve_within >= first_response_within)
);

INSERT INTO sla_policies (priority, name, first_response_within, resolve_within) VALUES
	('urgent', 'Urgent: 1 hour / 4 hours', '1 hour', '4 hours'),
	('high', 'High: 4 hours / 1 day', '4 hours', '1 day'),
	('normal', 'Normal: 8 hours / 3 days', '8 hours', '3 days'),
	('low', 'Low: 1 day / 1 week', '1 day', '7 days');

COMMENT ON TABLE sla_policies IS 'Response and resolution targets per ticket priority.';
