-- prediction_matcher: pairs open predictions of opposite picks on live matches (marks them matched)
UPDATE app.predictions p SET matched = true
  FROM (SELECT match_id, count(*) FILTER (WHERE pick = 0) AS home, count(*) FILTER (WHERE pick = 2) AS away
          FROM app.predictions WHERE NOT matched OR result IS NULL GROUP BY match_id) x,
       app.matches m
 WHERE p.match_id = x.match_id AND m.id = p.match_id AND m.status = 'live' AND p.pick <> 1
   AND x.home > 0 AND x.away > 0 AND p.id % 12 = 0;
UPDATE app.stats SET value = value + 1, updated_at = now() WHERE key IN ('global', 'matching');
