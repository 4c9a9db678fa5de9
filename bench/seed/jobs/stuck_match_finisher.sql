-- stuck_match_finisher: live matches without an update for too long are finished; their predictions'
-- stakes are totalled into settlements
UPDATE app.matches SET status = 'finished', updated_at = now()
 WHERE status = 'live' AND id % 10 = 0;
INSERT INTO app.settlements (user_id, match_id, amount, created_at)
SELECT p.user_id, p.match_id, sum(p.stake), now()
  FROM app.predictions p JOIN app.matches m ON m.id = p.match_id
 WHERE m.status = 'finished'
 GROUP BY p.user_id, p.match_id
HAVING sum(p.stake) > 45;
UPDATE app.stats SET value = value + 1, updated_at = now() WHERE key IN ('global', 'matches');
