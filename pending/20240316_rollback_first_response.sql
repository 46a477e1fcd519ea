-- Undo 20240316_first_response.sql (the backfilled values go with the columns).
ALTER TABLE tickets
	DROP COLUMN first_response_at,
	DROP COLUMN channel;
