-- The queue screen filters open work by agent.  CONCURRENTLY does not block
-- writes to tickets while the index builds, but it cannot run inside a
-- transaction block: it is alone in its file, and migdeck runs this file
-- without a transaction.
CREATE INDEX CONCURRENTLY IF NOT EXISTS tickets_open_by_agent_idx
	ON tickets (agent_id, priority, created_at)
	WHERE status IN ('open', 'pending');
