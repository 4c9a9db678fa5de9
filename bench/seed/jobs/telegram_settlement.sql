-- telegram_settlement: pays the oldest settlements into wallets (rows another worker holds are
-- skipped), deletes them and queues a telegram message per user
WITH batch AS (
    DELETE FROM app.settlements s
     WHERE s.id IN (SELECT id FROM app.settlements ORDER BY id LIMIT 30000 FOR UPDATE SKIP LOCKED)
    RETURNING s.user_id, s.amount
), per_user AS (
    SELECT user_id, sum(amount) AS amount FROM batch GROUP BY user_id
), paid AS (
    UPDATE app.wallets w SET balance = w.balance + per_user.amount, updated_at = now()
      FROM per_user WHERE w.user_id = per_user.user_id
    RETURNING w.user_id, per_user.amount)
INSERT INTO app.notifications (user_id, kind, payload, due_at)
SELECT user_id, 'telegram', 'settled ' || amount, now() FROM paid;
WITH old AS (
    DELETE FROM app.notifications n
     WHERE n.id IN (SELECT id FROM app.notifications WHERE kind = 'telegram'
                     ORDER BY due_at LIMIT 10000 FOR UPDATE SKIP LOCKED)
    RETURNING n.id, n.user_id, n.kind)
INSERT INTO app.sent_notifications SELECT id, user_id, kind, now() FROM old;
UPDATE app.stats SET value = value + 1, updated_at = now() WHERE key IN ('global', 'settlements');
