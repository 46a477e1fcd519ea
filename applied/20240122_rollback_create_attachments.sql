-- Undo 20240122_create_attachments.sql (the stored objects are left to the
-- storage lifecycle rules).
DROP TABLE attachments;
