CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO log VALUES (1); INSERT INTO log VALUES (2));
SELECT array[1,2][1], (SELECT 1), f(a := 1, b => 2), x::numeric(10,2) FROM t WHERE a >= 1 AND b <> 2 OR c !~* 'x';
SELECT 1.5e10, .5, 1_000, 0x1F, 'été €' AS unicode, "ключ";
