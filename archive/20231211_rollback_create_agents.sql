-- Undo 20231211_create_agents.sql.
ALTER TABLE customers DROP COLUMN updated_at;
DROP TABLE agents;
