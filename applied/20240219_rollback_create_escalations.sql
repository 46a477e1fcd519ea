-- Undo 20240219_create_escalations.sql.
DROP TABLE escalations;
