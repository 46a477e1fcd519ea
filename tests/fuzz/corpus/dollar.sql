CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	NEW.updated_at := now(); -- a comment; with a semicolon
	RETURN NEW;
END
$$;
CREATE FUNCTION nested() RETURNS text LANGUAGE plpgsql AS $body$
DECLARE s text := $$inner; $x$ not a tag end$$;
BEGIN RETURN s || $q$;$q$; END
$body$;
SELECT $1, $2::int, $tag$ $tagx$ ; $tag$;
