-- Undo 20240210_touch_updated_at.sql.
DROP TRIGGER customers_touch_updated_at ON customers;
DROP TRIGGER tickets_touch_updated_at ON tickets;
DROP FUNCTION touch_updated_at();
