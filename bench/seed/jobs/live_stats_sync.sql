-- live_stats_sync: per-match prediction statistics (read by the API) and the number of users with open predictions
INSERT INTO app.match_stats AS s (match_id, predictions, home_pct, stake, updated_at)
SELECT p.match_id, count(*), round(100.0 * count(*) FILTER (WHERE p.pick = 0) / count(*), 1), sum(p.stake), now()
  FROM app.predictions p JOIN app.matches m ON m.id = p.match_id
 GROUP BY p.match_id
ON CONFLICT (match_id) DO UPDATE
   SET predictions = excluded.predictions, home_pct = excluded.home_pct, stake = excluded.stake, updated_at = now();
-- users with open predictions
UPDATE app.stats SET value = (SELECT count(DISTINCT user_id) FROM app.predictions WHERE result IS NULL), updated_at = now()
 WHERE key = 'live';
UPDATE app.stats SET value = value + 1, updated_at = now() WHERE key = 'global';
