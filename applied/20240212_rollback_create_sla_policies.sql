-- Undo 20240212_create_sla_policies.sql.
DROP TABLE sla_policies;
