-- Undo 20240304_ticket_stats_daily.sql.
DROP MATERIALIZED VIEW ticket_stats_daily;
