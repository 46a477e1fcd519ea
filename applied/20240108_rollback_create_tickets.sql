-- Undo 20240108_create_tickets.sql.
DROP TABLE tickets;
DROP TYPE ticket_priority;
DROP TYPE ticket_status;
