-- SLA escalation, run every five minutes by the scheduler:
--     SELECT escalate_overdue_tickets();
-- A new or open ticket with no public reply past its policy's
-- first_response_within gets a level 1 escalation, to its assignee (or to
-- the first active admin when nobody has it), and that person an email.
-- Running it again raises nothing twice (escalations_open_key).
CREATE FUNCTION escalate_overdue_tickets(as_of timestamptz DEFAULT now())
RETURNS integer
LANGUAGE plpgsql AS $fn$
DECLARE
	raised_count integer;
BEGIN
	WITH overdue AS (
		SELECT t.id AS ticket_id, p.id AS sla_policy_id,
		       coalesce(t.assignee_id,
		                (SELECT u.id FROM users u
		                  WHERE u.role = 'admin' AND u.is_active
		                  ORDER BY u.id LIMIT 1)) AS escalated_to
		  FROM tickets t
		  JOIN sla_policies p ON p.priority = t.priority
		 WHERE t.status IN ('new', 'open')
		   AND t.created_at + p.first_response_within < as_of
		   AND NOT EXISTS (SELECT 1 FROM ticket_comments c
		                    WHERE c.ticket_id = t.id
		                      AND c.author_id <> t.requester_id
		                      AND NOT c.is_internal)
	), raised AS (
		INSERT INTO escalations (ticket_id, sla_policy_id, reason, escalated_to)
		SELECT ticket_id, sla_policy_id, 'first_response_breach', escalated_to
		  FROM overdue
		 WHERE escalated_to IS NOT NULL
		ON CONFLICT (ticket_id, reason) WHERE acknowledged_at IS NULL DO NOTHING
		RETURNING ticket_id, escalated_to
	)
	INSERT INTO notifications (recipient_id, ticket_id, channel, kind, payload)
	SELECT escalated_to, ticket_id, 'email', 'sla_breach',
	       jsonb_build_object('reason', 'first_response_breach', 'as_of', as_of)
	  FROM raised;
	GET DIAGNOSTICS raised_count = ROW_COUNT;
	RETURN raised_count;
END;
$fn$;

COMMENT ON FUNCTION escalate_overdue_tickets(timestamptz) IS
	'Raises first-response SLA escalations and mails them; returns how many.';
