-- Where a ticket came from, and when an agent first answered it.
ALTER TABLE tickets
	ADD COLUMN channel text NOT NULL DEFAULT 'email'
		CHECK (channel IN ('email', 'web', 'phone', 'chat')),
	ADD COLUMN first_response_at timestamptz;

-- Backfill from the comments: the first reply the customer could see.
UPDATE tickets t
   SET first_response_at = r.first_at
  FROM (SELECT ticket_id, min(created_at) AS first_at
          FROM comments
         WHERE author_agent_id IS NOT NULL AND NOT internal
         GROUP BY ticket_id) r
 WHERE r.ticket_id = t.id
   AND t.first_response_at IS NULL;

-- Tickets opened from the web form say so in their subject ("[web] ...").
UPDATE tickets SET channel = 'web' WHERE subject LIKE '[web]%';
