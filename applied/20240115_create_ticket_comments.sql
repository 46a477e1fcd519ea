-- The conversation on a ticket: replies from the customer and the agents,
-- and internal notes that only agents see.
CREATE TABLE ticket_comments (
	id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	ticket_id    bigint NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
	author_id    bigint NOT NULL REFERENCES users (id),
	body         text NOT NULL CHECK (body <> ''),
	is_internal  boolean NOT NULL DEFAULT false,
	created_at   timestamptz NOT NULL DEFAULT now(),
	edited_at    timestamptz
);

-- the ticket page lists its comments oldest first
CREATE INDEX ticket_comments_ticket_id_idx ON ticket_comments (ticket_id, created_at);
CREATE INDEX ticket_comments_author_id_idx ON ticket_comments (author_id);

COMMENT ON TABLE ticket_comments IS 'Replies and internal notes on a ticket.';
COMMENT ON COLUMN ticket_comments.is_internal IS 'An agents-only note: never shown or mailed to the customer.';
