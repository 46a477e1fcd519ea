-- Undo 20240205_seed_demo_data.sql: the demo users and everything that
-- hangs off their tickets (comments and history go by ON DELETE CASCADE).
DELETE FROM tickets
 WHERE requester_id IN (SELECT id FROM users
                         WHERE email IN ('dan.okafor@northwind.example',
                                         'li.wei@contoso.example',
                                         'sam.reyes@fabrikam.example'));

DELETE FROM users
 WHERE email IN ('maya.patel@helpdesk.example', 'jonas.berg@helpdesk.example',
                 'rosa.alvarez@helpdesk.example', 'dan.okafor@northwind.example',
                 'li.wei@contoso.example', 'sam.reyes@fabrikam.example');
