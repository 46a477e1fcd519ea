CREATE TABLE t (a int, b text);
COPY t (a, b) FROM STDIN;
1	semi;colon
2	'quote
3	\N
\.
COPY t FROM stdin WITH (FORMAT csv);
4,"x;y"
\.
SELECT count(*) FROM t;
COPY t TO STDOUT;
