-- Undo 20240318_escalate_overdue_tickets.sql (unschedule the job first).
DROP FUNCTION escalate_overdue_tickets(timestamptz);
