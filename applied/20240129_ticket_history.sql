-- An audit trail of ticket changes, written by a trigger so that no code
-- path can forget it.  The application says who acts with
-- SET LOCAL app.user_id = '<id>'; without it changed_by stays NULL (a job).
CREATE TABLE ticket_history (
	id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	ticket_id   bigint NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
	changed_by  bigint REFERENCES users (id),
	field       text NOT NULL CHECK (field IN ('created', 'status', 'priority', 'assignee_id')),
	old_value   text,
	new_value   text,
	changed_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX ticket_history_ticket_id_idx ON ticket_history (ticket_id, changed_at);

CREATE FUNCTION record_ticket_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	actor bigint := nullif(current_setting('app.user_id', true), '')::bigint;
BEGIN
	IF TG_OP = 'INSERT' THEN
		INSERT INTO ticket_history (ticket_id, changed_by, field, new_value)
		VALUES (NEW.id, actor, 'created', NEW.status::text);
		RETURN NEW;
	END IF;
	IF NEW.status IS DISTINCT FROM OLD.status THEN
		INSERT INTO ticket_history (ticket_id, changed_by, field, old_value, new_value)
		VALUES (NEW.id, actor, 'status', OLD.status::text, NEW.status::text);
	END IF;
	IF NEW.priority IS DISTINCT FROM OLD.priority THEN
		INSERT INTO ticket_history (ticket_id, changed_by, field, old_value, new_value)
		VALUES (NEW.id, actor, 'priority', OLD.priority::text, NEW.priority::text);
	END IF;
	IF NEW.assignee_id IS DISTINCT FROM OLD.assignee_id THEN
		INSERT INTO ticket_history (ticket_id, changed_by, field, old_value, new_value)
		VALUES (NEW.id, actor, 'assignee_id', OLD.assignee_id::text, NEW.assignee_id::text);
	END IF;
	RETURN NEW;
END;
$$;

CREATE TRIGGER tickets_record_change
	AFTER INSERT OR UPDATE ON tickets
	FOR EACH ROW EXECUTE FUNCTION record_ticket_change();

COMMENT ON TABLE ticket_history IS 'Who changed what on a ticket, and when; written by tickets_record_change.';
