-- quotes of every kind, with semicolons inside
INSERT INTO notes (body) VALUES ('it''s; fine'), (E'tab\t; \'escaped\' \\'), (U&'d\0061t\+000061; x');
SELECT "odd;name", U&"d\0061t" FROM "schema;x"."t""q";
SELECT B'1010', X'1F', N'national; text', 'a' 'b' AS continued;
SELECT 'multi
line; string' AS s;
