-- Undo 20240203_create_tickets.sql.
DROP TABLE tickets;
DROP TYPE ticket_status;
