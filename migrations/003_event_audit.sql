-- migdeck bookkeeping 003: what `migdeck log` shows beside each event.
--
--   target            the [target.NAME] (or fleet member) the run was for;
--                     NULL without one
--   backup_file       the pg_dump backup taken before the run's first change
--                     ([database] backup = pg_dump; src/backup.c), its file
--                     name in [backup] dir on client_host
--   application_name  the session's application_name (migdeck:<os user>)
--   client_addr       the address the server saw the session come from
--                     (NULL over a Unix socket)
--
-- The last two are filled by the server itself (column defaults).  Rows
-- written before this file ran keep NULL in all four.  Placeholders as in
-- 001_history.sql.

ALTER TABLE ${md_schema}.${md_table_events}
	ADD COLUMN IF NOT EXISTS target           text,
	ADD COLUMN IF NOT EXISTS backup_file      text,
	ADD COLUMN IF NOT EXISTS application_name text,
	ADD COLUMN IF NOT EXISTS client_addr      inet;

-- defaults set apart from ADD COLUMN, so existing rows stay NULL instead of
-- taking this session's values
ALTER TABLE ${md_schema}.${md_table_events}
	ALTER COLUMN application_name SET DEFAULT current_setting('application_name'),
	ALTER COLUMN client_addr SET DEFAULT inet_client_addr();
