\set ON_ERROR_STOP on
\echo starting; not sql
SELECT 1;
\i other.sql
SELECT 2 \g
\connect db
SELECT 3
