-- Undo 20231120_create_sessions.sql.
ALTER TABLE users DROP COLUMN last_login_at;
DROP TABLE sessions;
