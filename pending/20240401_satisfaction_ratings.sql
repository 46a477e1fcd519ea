-- Customer satisfaction (CSAT): once a ticket is solved the customer may
-- rate it from 1 to 5, once.  The daily report gains the mean rating, so
-- ticket_stats_daily is rebuilt (a materialized view cannot gain a column).
CREATE TABLE satisfaction_ratings (
	ticket_id  bigint PRIMARY KEY REFERENCES tickets (id) ON DELETE CASCADE,
	score      smallint NOT NULL CHECK (score BETWEEN 1 AND 5),
	remark     text,
	rated_at   timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE satisfaction_ratings IS 'One CSAT rating per solved ticket, 1 (poor) to 5 (great).';

DROP MATERIALIZED VIEW ticket_stats_daily;

CREATE MATERIALIZED VIEW ticket_stats_daily AS
SELECT (t.created_at AT TIME ZONE 'UTC')::date AS day,
       t.priority,
       count(*) AS opened,
       count(*) FILTER (WHERE t.solved_at IS NOT NULL) AS solved,
       avg(fr.first_reply_at - t.created_at) AS mean_first_reply,
       round(avg(r.score), 2) AS mean_satisfaction
  FROM tickets t
  LEFT JOIN LATERAL (
	SELECT min(c.created_at) AS first_reply_at
	  FROM ticket_comments c
	 WHERE c.ticket_id = t.id
	   AND c.author_id IS DISTINCT FROM t.requester_id
	   AND NOT c.is_internal
  ) fr ON true
  LEFT JOIN satisfaction_ratings r ON r.ticket_id = t.id
 GROUP BY 1, 2
WITH DATA;

CREATE UNIQUE INDEX ticket_stats_daily_key ON ticket_stats_daily (day, priority);

COMMENT ON MATERIALIZED VIEW ticket_stats_daily IS 'Daily ticket counts and CSAT per priority; refreshed nightly.';
