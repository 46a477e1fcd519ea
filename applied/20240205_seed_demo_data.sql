-- Demo and staging data: the support team, three customers, a few tickets
-- and their first replies.  Production never runs the demo workspace.
INSERT INTO users (email, full_name, role) VALUES
	('maya.patel@helpdesk.example', 'Maya Patel', 'agent'),
	('jonas.berg@helpdesk.example', 'Jonas Berg', 'agent'),
	('rosa.alvarez@helpdesk.example', 'Rosa Álvarez', 'admin'),
	('dan.okafor@northwind.example', 'Dan Okafor', 'customer'),
	('li.wei@contoso.example', 'Li Wei', 'customer'),
	('sam.reyes@fabrikam.example', 'Sam Reyes', 'customer');

INSERT INTO tickets (requester_id, assignee_id, subject, description, status, priority, created_at, solved_at)
SELECT r.id, a.id, v.subject, v.description, v.status::ticket_status, v.priority::ticket_priority,
       v.created_at::timestamptz, v.solved_at::timestamptz
  FROM (VALUES
	('dan.okafor@northwind.example', 'maya.patel@helpdesk.example', 'Invoice 2024-0113 charged twice',
	 'Our card was charged twice for January.', 'open', 'high', '2024-01-15 09:12+00', NULL),
	('li.wei@contoso.example', 'jonas.berg@helpdesk.example', 'Cannot reset my password',
	 'The reset link says it has expired.', 'solved', 'normal', '2024-01-16 14:03+00', '2024-01-16 15:40+00'),
	('sam.reyes@fabrikam.example', NULL, 'Export to CSV drops accented names',
	 'Names like José come out as Jos?.', 'new', 'low', '2024-01-18 08:30+00', NULL),
	('dan.okafor@northwind.example', 'maya.patel@helpdesk.example', 'API returns 502 since this morning',
	 'All calls to /v2/orders fail.', 'pending', 'urgent', '2024-01-19 07:55+00', NULL)
       ) AS v (requester, assignee, subject, description, status, priority, created_at, solved_at)
  JOIN users r ON r.email = v.requester
  LEFT JOIN users a ON a.email = v.assignee;

INSERT INTO ticket_comments (ticket_id, author_id, body, is_internal, created_at)
SELECT t.id, u.id, v.body, v.is_internal, v.created_at::timestamptz
  FROM (VALUES
	('Invoice 2024-0113 charged twice', 'maya.patel@helpdesk.example',
	 'Sorry about that: the duplicate charge is refunded, 3-5 business days.', false, '2024-01-15 10:02+00'),
	('Cannot reset my password', 'jonas.berg@helpdesk.example',
	 'I sent a new link that is valid for 24 hours.', false, '2024-01-16 14:31+00'),
	('API returns 502 since this morning', 'maya.patel@helpdesk.example',
	 'Escalated to on-call; gateway pool exhausted.', true, '2024-01-19 08:10+00')
       ) AS v (subject, author, body, is_internal, created_at)
  JOIN tickets t ON t.subject = v.subject
  JOIN users u ON u.email = v.author;
