-- Undo 20231106_create_users.sql (the index goes with the table).
DROP TABLE users;
