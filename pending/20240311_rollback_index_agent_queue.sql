-- Undo 20240311_index_agent_queue.sql, without blocking writes either.
DROP INDEX CONCURRENTLY ticket_history_changed_by_idx;
DROP INDEX CONCURRENTLY tickets_agent_queue_idx;
