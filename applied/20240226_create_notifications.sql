-- Notifications: what the mailer and the in-app bell deliver.  A row is
-- written in the transaction that causes it; the mailer picks up unsent
-- email rows in order and sets sent_at.
CREATE TYPE notification_channel AS ENUM ('email', 'in_app');

CREATE TABLE notifications (
	id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	recipient_id  bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	ticket_id     bigint REFERENCES tickets (id) ON DELETE CASCADE,
	channel       notification_channel NOT NULL,
	kind          text NOT NULL,        -- 'ticket_assigned', 'new_comment', 'sla_breach', ...
	payload       jsonb NOT NULL DEFAULT '{}',
	created_at    timestamptz NOT NULL DEFAULT now(),
	sent_at       timestamptz,
	read_at       timestamptz
);

-- the mailer's queue, and the bell's unread count
CREATE INDEX notifications_unsent_idx ON notifications (created_at)
	WHERE sent_at IS NULL AND channel = 'email';
CREATE INDEX notifications_unread_idx ON notifications (recipient_id, created_at DESC)
	WHERE read_at IS NULL;

COMMENT ON TABLE notifications IS 'Outgoing emails and in-app notices, one row per recipient.';
