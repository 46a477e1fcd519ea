-- Undo 20240401_satisfaction_ratings.sql: ticket_stats_daily as
-- 20240304_ticket_stats_daily.sql built it, and no ratings.
DROP MATERIALIZED VIEW ticket_stats_daily;

CREATE MATERIALIZED VIEW ticket_stats_daily AS
SELECT (t.created_at AT TIME ZONE 'UTC')::date AS day,
       t.priority,
       count(*) AS opened,
       count(*) FILTER (WHERE t.solved_at IS NOT NULL) AS solved,
       avg(fr.first_reply_at - t.created_at) AS mean_first_reply
  FROM tickets t
  LEFT JOIN LATERAL (
	SELECT min(c.created_at) AS first_reply_at
	  FROM ticket_comments c
	 WHERE c.ticket_id = t.id
	   AND c.author_id IS DISTINCT FROM t.requester_id
	   AND NOT c.is_internal
  ) fr ON true
 GROUP BY 1, 2
WITH DATA;

CREATE UNIQUE INDEX ticket_stats_daily_key ON ticket_stats_daily (day, priority);

COMMENT ON MATERIALIZED VIEW ticket_stats_daily IS 'Daily ticket counts per priority; refreshed nightly.';

DROP TABLE satisfaction_ratings;
