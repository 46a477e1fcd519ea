-- Undo 20240325_create_ticket_tags.sql (the tags on tickets are lost).
DROP TABLE ticket_tags;
DROP TABLE tags;
