CREATE INDEX CONCURRENTLY IF NOT EXISTS tickets_status_idx ON tickets (status);
DROP INDEX CONCURRENTLY old_idx;
REINDEX INDEX CONCURRENTLY tickets_status_idx;
VACUUM (ANALYZE) tickets;
ALTER TYPE ticket_status ADD VALUE IF NOT EXISTS 'on_hold' BEFORE 'closed';
;
;;
