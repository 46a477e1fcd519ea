-- Keep updated_at honest: a trigger sets it on every UPDATE.
CREATE FUNCTION touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	-- now() is the start of the transaction; good enough, and stable
	NEW.updated_at := now();
	RETURN NEW;
END;
$$;

CREATE TRIGGER tickets_touch_updated_at
	BEFORE UPDATE ON tickets
	FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

CREATE TRIGGER customers_touch_updated_at
	BEFORE UPDATE ON customers
	FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
