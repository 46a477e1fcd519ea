CREATE TABLE ${schema}.items (id int, note text DEFAULT '${quote}');
INSERT INTO ${schema}.items VALUES (1, 'owner ${alpha} and ${zzz_undefined}');
-- ${inside_comment} is not a placeholder
CREATE FUNCTION ${schema}.f() RETURNS text LANGUAGE sql AS $$ SELECT '${hotel}' $$;
SELECT ${empty}1, ${kilo}, $${not}$$, ${ ${}, ${a}${b};
