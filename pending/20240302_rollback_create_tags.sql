-- Undo 20240302_create_tags.sql.
DROP VIEW open_tickets;
DROP TABLE ticket_tags;
DROP TABLE tags;
