-- migdeck bookkeeping 002: scripts that record themselves.
--
-- The CRM seed's scripts insert their own history row
-- (INSERT INTO schema_versions (version, description) VALUES (...)).  The
-- first time a script runs that row is new, and migdeck's own upsert
-- (md_history_record_apply: INSERT ... ON CONFLICT (version) DO UPDATE)
-- completes it.  When a version runs again (re-applied after a rollback, or
-- after a failed run) the row is already there and the script's INSERT
-- would fail with a unique violation.  This trigger turns such an INSERT
-- into an update of the existing row (active again, applied now).
--
-- migdeck's own INSERT always names a kind; an INSERT that does not (a
-- script's) is the one handled here.  Placeholders as in 001_history.sql.

CREATE OR REPLACE FUNCTION ${md_schema}.migdeck_self_record() RETURNS trigger
LANGUAGE plpgsql AS $md$
DECLARE
	n bigint;
BEGIN
	IF NEW.kind IS NOT NULL THEN
		RETURN NEW;
	END IF;
	EXECUTE format('UPDATE %I.%I SET description = coalesce($1, description),'
	               ' applied_at = coalesce($2, now()), is_active = coalesce($3, true),'
	               ' rolled_back_at = $4 WHERE version = $5',
	               TG_TABLE_SCHEMA, TG_TABLE_NAME)
		USING NEW.description, NEW.applied_at, NEW.is_active, NEW.rolled_back_at,
		      NEW.version;
	GET DIAGNOSTICS n = ROW_COUNT;
	IF n > 0 THEN
		RETURN NULL; -- the row was there: updated, nothing to insert
	END IF;
	RETURN NEW;
END
$md$;

COMMENT ON FUNCTION ${md_schema}.migdeck_self_record() IS
	'migdeck: a script that inserts its own history row again updates that row instead';

DROP TRIGGER IF EXISTS migdeck_self_record ON ${md_schema}.${md_table};

-- WHEN keeps migdeck's own inserts (kind is set) from calling the function
-- at all: the runner writes one row per migration.
CREATE TRIGGER migdeck_self_record
	BEFORE INSERT ON ${md_schema}.${md_table}
	FOR EACH ROW WHEN (NEW.kind IS NULL)
	EXECUTE FUNCTION ${md_schema}.migdeck_self_record();
