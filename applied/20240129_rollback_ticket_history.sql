-- Undo 20240129_ticket_history.sql (the audit trail goes with it).
DROP TRIGGER tickets_record_change ON tickets;
DROP FUNCTION record_ticket_change();
DROP TABLE ticket_history;
