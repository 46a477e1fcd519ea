-- Undo 20240309_index_open_tickets.sql, without blocking writes either.
DROP INDEX CONCURRENTLY IF EXISTS tickets_open_by_agent_idx;
