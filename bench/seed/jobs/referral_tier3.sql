-- referral_tier3: level-3 rewards, paid only when the whole chain is active
UPDATE app.referrals r SET reward = r.reward + 0.25, paid_at = now()
  FROM app.users u JOIN app.users p ON p.id = u.referrer_id
 WHERE r.level = 3 AND u.id = r.referee_id AND u.points % 5 <> 0 AND p.points % 3 <> 0;
UPDATE app.users u SET points = u.points + x.n
  FROM (SELECT r.referrer_id, count(*) AS n FROM app.referrals r WHERE r.level = 3 GROUP BY r.referrer_id) x
 WHERE u.id = x.referrer_id AND u.id % 4 = 1;
UPDATE app.stats SET value = value + 1, updated_at = now() WHERE key IN ('global', 'referrals');
