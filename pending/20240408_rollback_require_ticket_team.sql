-- Undo 20240408_require_ticket_team.sql (the index goes with the column).
ALTER TABLE tickets DROP COLUMN team_id;
DROP TABLE teams;
