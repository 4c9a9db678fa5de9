-- badge_auto_unlock: badges for prediction counts and stakes, with a notification for each new one
WITH agg AS (
    SELECT user_id, count(*) AS n, sum(stake) AS staked, count(*) FILTER (WHERE pick = 1) AS draws
      FROM app.predictions GROUP BY user_id
), new AS (
    INSERT INTO app.badges (user_id, badge, unlocked_at)
    SELECT user_id, b, now()
      FROM agg, LATERAL (VALUES (CASE WHEN n >= 12 THEN 'regular' END), (CASE WHEN staked >= 300 THEN 'high_roller' END),
                                (CASE WHEN draws >= 5 THEN 'draw_master' END)) v(b)
     WHERE b IS NOT NULL
    ON CONFLICT DO NOTHING
    RETURNING user_id, badge)
INSERT INTO app.notifications (user_id, kind, payload, due_at)
SELECT user_id, 'push', 'badge unlocked: ' || badge, now() FROM new;
UPDATE app.stats SET value = value + 1, updated_at = now() WHERE key IN ('global', 'badges');
