-- scheduled_notifications: sends (deletes) the oldest due notifications, skipping rows another
-- consumer holds, logs them, and enqueues as many new ones (the queue keeps its size)
WITH sent AS (
    DELETE FROM app.notifications n
     WHERE n.id IN (SELECT id FROM app.notifications WHERE kind <> 'telegram'
                     ORDER BY due_at LIMIT 80000 FOR UPDATE SKIP LOCKED)
    RETURNING n.id, n.user_id, n.kind)
INSERT INTO app.sent_notifications SELECT id, user_id, kind, now() FROM sent;
INSERT INTO app.notifications (user_id, kind, payload, due_at)
SELECT 1 + abs(hashint4(i)) % 100000, (ARRAY['push', 'email'])[1 + i % 2], 'reminder ' || i || repeat('.', 60),
       now() + (i || ' s')::interval
  FROM generate_series(1, 80000) i;
UPDATE app.stats SET value = value + 1, updated_at = now() WHERE key IN ('global', 'notifications');
