-- Route every ticket to a support team: teams, and tickets.team_id.
--
-- THIS MIGRATION FAILS ON PURPOSE: it shows what a failed migration looks
-- like.  tickets already has rows (applied/20240205_seed_demo_data.sql),
-- and a NOT NULL column without a default cannot be added to a table that
-- has rows, so the server stops at the ALTER TABLE with
--     ERROR: column "team_id" of relation "tickets" contains null values
-- migdeck rolls the whole file back (teams is not left behind) and the
-- file stays in pending/.  The fix is the usual three steps: add the column
-- nullable, backfill it, then SET NOT NULL in a later migration.
CREATE TABLE teams (
	id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name        text NOT NULL UNIQUE,
	created_at  timestamptz NOT NULL DEFAULT now()
);

INSERT INTO teams (name) VALUES ('Tier 1'), ('Billing'), ('Platform');

ALTER TABLE tickets ADD COLUMN team_id integer NOT NULL REFERENCES teams (id);

CREATE INDEX tickets_team_id_idx ON tickets (team_id);

COMMENT ON TABLE teams IS 'Support teams; every ticket belongs to exactly one.';
