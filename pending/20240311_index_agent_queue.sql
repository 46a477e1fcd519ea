-- Indexes for the agent queue ("my open tickets, most urgent first") and
-- the audit page ("what did this agent change").
--
-- CONCURRENTLY builds them without blocking writes to tickets, which are
-- busy all day, but it cannot run inside a transaction block: this file
-- holds nothing else, and migdeck runs it without a transaction.  If the
-- second build fails, the first index stays.
CREATE INDEX CONCURRENTLY tickets_agent_queue_idx
	ON tickets (assignee_id, priority DESC, created_at)
	WHERE status IN ('new', 'open', 'pending');

CREATE INDEX CONCURRENTLY ticket_history_changed_by_idx
	ON ticket_history (changed_by, changed_at)
	WHERE changed_by IS NOT NULL;
