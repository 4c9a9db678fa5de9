-- The app's API requests (pgbench script of bench/seed_scenario.sh): show a
-- user and a match's statistics, place a prediction, touch the user's row.
\set uid random(1, 100000)
\set mid random(1, 4000)
BEGIN;
SELECT id, points, tier FROM app.users WHERE id = :uid;
SELECT balance FROM app.wallets WHERE user_id = :uid;
SELECT predictions, home_pct FROM app.match_stats WHERE match_id = :mid;
INSERT INTO app.predictions (user_id, match_id, pick, stake, created_at) VALUES (:uid, :mid, :uid % 3, 10, now());
UPDATE app.users SET last_seen = now() WHERE id = :uid;
END;
