-- Undo 20240218_create_comments.sql.
DROP TABLE comments;
