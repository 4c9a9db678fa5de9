-- referral_tier2: level-2 referral rewards for active referees, credited to the referrers' points
UPDATE app.referrals r SET reward = r.reward + 0.5, paid_at = now()
  FROM app.users u
 WHERE r.level = 2 AND u.id = r.referee_id AND u.points % 3 = 0;
UPDATE app.users u SET points = u.points + x.n, tier = least(3, 1 + x.n / 4)
  FROM (SELECT r.referrer_id, count(*) AS n FROM app.referrals r WHERE r.level = 2 GROUP BY r.referrer_id) x
 WHERE u.id = x.referrer_id AND u.id % 4 = 0;
UPDATE app.stats SET value = value + 1, updated_at = now() WHERE key IN ('global', 'referrals');
