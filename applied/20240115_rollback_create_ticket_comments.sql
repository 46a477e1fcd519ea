-- Undo 20240115_create_ticket_comments.sql.
DROP TABLE ticket_comments;
