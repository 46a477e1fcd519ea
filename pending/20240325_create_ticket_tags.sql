-- Tags: labels agents put on tickets ("billing", "outage") to group them
-- in saved views and in the weekly report.  A starter set is seeded; agents
-- with the admin role add more from the settings page.
CREATE TABLE tags (
	id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name        text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9-]*$'),
	color       text NOT NULL DEFAULT '#6b7280' CHECK (color ~ '^#[0-9a-f]{6}$'),
	created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE ticket_tags (
	ticket_id  bigint NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
	tag_id     integer NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
	tagged_by  bigint REFERENCES users (id),
	tagged_at  timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (ticket_id, tag_id)
);

/* The primary key serves "the tags of a ticket";
   this index serves "the tickets with a tag". */
CREATE INDEX ticket_tags_tag_id_idx ON ticket_tags (tag_id);

INSERT INTO tags (name, color) VALUES
	('billing', '#2563eb'),
	('outage', '#dc2626'),
	('how-to', '#16a34a'),
	('feature-request', '#9333ea');

COMMENT ON TABLE tags IS 'Labels for grouping tickets: lowercase, digits and hyphens.';
COMMENT ON COLUMN tags.color IS 'Badge colour in the agent UI, as #rrggbb.';
COMMENT ON TABLE ticket_tags IS 'Which tags are on which ticket.';
COMMENT ON COLUMN ticket_tags.tagged_by IS 'The agent who added the tag; NULL when an automation rule did.';
