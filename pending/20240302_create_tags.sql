-- Tags on tickets, a few to start with, and the view the queue screen reads.
CREATE TABLE tags (
	id     integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name   text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9-]+$'),
	color  text NOT NULL DEFAULT '#888888'
);

CREATE TABLE ticket_tags (
	ticket_id  bigint NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
	tag_id     integer NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
	PRIMARY KEY (ticket_id, tag_id)
);

INSERT INTO tags (name, color) VALUES
	('billing', '#1f77b4'),
	('bug', '#d62728'),
	('feature-request', '#2ca02c'),
	('vip', '#9467bd');

/* Open work, oldest first within a priority; tags as one sorted string
   ("billing; vip") for the queue screen. */
CREATE VIEW open_tickets AS
SELECT t.id, t.subject, t.status, t.priority, t.created_at,
       c.full_name AS customer, a.full_name AS agent,
       (SELECT string_agg(g.name, '; ' ORDER BY g.name)
          FROM ticket_tags tt JOIN tags g ON g.id = tt.tag_id
         WHERE tt.ticket_id = t.id) AS tags
  FROM tickets t
  JOIN customers c ON c.id = t.customer_id
  LEFT JOIN agents a ON a.id = t.agent_id
 WHERE t.status IN ('open', 'pending')
 ORDER BY t.priority, t.created_at;
