-- Collisions on real fire times, the NOTICE when a colliding job is written,
-- offsets chosen for new jobs, stagger_validate and stagger_summary.
SET timezone = 'UTC';
SET datestyle = 'ISO';
SET job_stagger.enabled = on;
-- instants depend on when the test runs: show their shape only
CREATE FUNCTION pg_temp.masked(t text) RETURNS text LANGUAGE sql
    AS $$ SELECT regexp_replace(t, '\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d', 'YYYY-MM-DD hh:mm:ss', 'g') $$;

-- Two hourly jobs at minutes 0 and 30 sharing offset 5 never meet; an
-- every-minute and an every-5-minute job sharing offset 5 do, 288 times a day.
SELECT stagger_schedule('hourly_a', '0 * * * *', 'SELECT 1', 5) > 0;
SELECT stagger_schedule('hourly_b', '30 * * * *', 'SELECT 1', 5) > 0;
SELECT stagger_schedule('minutely', '* * * * *', 'SELECT 1', 10) > 0;
SELECT stagger_schedule('five_min', '*/5 * * * *', 'SELECT 1', 5) > 0;
SELECT job_a, job_b, second, collisions_per_day, first_collision > now() AS future FROM stagger_collisions()
 ORDER BY job_a, job_b;
SELECT stagger_set_offset('minutely', 5);
SELECT job_a, job_b, second, collisions_per_day, first_collision > now() AS future,
       extract(minute FROM first_collision)::int % 5 AS minute_mod_5, extract(second FROM first_collision) AS sec
  FROM stagger_collisions() ORDER BY job_a, job_b;
-- distinct offsets where jobs meet: no collisions
SELECT stagger_set_offset('minutely', 6);
SELECT stagger_set_offset('five_min', 7);
SELECT count(*) AS collisions FROM stagger_collisions();
SELECT * FROM stagger_validate();

-- a 6-field job is never shifted: it meets a 5-field job at that second
SELECT stagger_schedule('six', '6 * * * * *', 'SELECT 1') > 0;
SELECT job_a, job_b, second, collisions_per_day FROM stagger_collisions();
SELECT valid, pg_temp.masked(collisions::text) FROM stagger_validate();
SELECT stagger_unschedule('six');

-- staggering off: every 5-field job fires at second 0 and they all meet
SET job_stagger.enabled = off;
SELECT job_a, job_b, second, collisions_per_day FROM stagger_collisions() ORDER BY job_a, job_b;
SET job_stagger.enabled = on;

-- new jobs without an offset get one that is free and spread over the minute
DELETE FROM job_stagger.jobs;
SELECT stagger_schedule('job_' || i, '* * * * *', 'SELECT 1') > 0 FROM generate_series(1, 8) i;
SELECT job_name, offset_seconds FROM job_stagger.jobs ORDER BY jobid;
SELECT * FROM stagger_validate();
-- an explicit offset that collides is accepted, with a NOTICE naming the other
-- job and the nearest free offset; likewise when a change creates a collision
SELECT stagger_schedule('clash', '*/5 * * * *', 'SELECT 1', 30) > 0;
SELECT stagger_set_offset('clash', 31);
SELECT stagger_set_offset('job_2', 31);
UPDATE job_stagger.jobs SET command = 'SELECT 2' WHERE job_name = 'job_2';  -- no fire-time change: no notice
-- staggering off now: the notice says when it would matter
SET job_stagger.enabled = off;
SELECT stagger_set_offset('job_3', 31);
SET job_stagger.enabled = on;

-- the human summary
DELETE FROM job_stagger.jobs;
SELECT stagger_schedule('backup', '0 3 * * *', 'SELECT 1', 45) > 0;
SELECT stagger_schedule('refresh', '*/5 * * * *', 'SELECT 1', 20) > 0;
SELECT stagger_schedule('ticker', '15 * * * * *', 'SELECT 1') > 0;
SELECT pg_temp.masked(stagger_summary());
SET job_stagger.enabled = off;
SELECT pg_temp.masked(stagger_summary());
SET job_stagger.enabled = on;
DELETE FROM job_stagger.jobs;
SELECT stagger_summary();
RESET job_stagger.enabled;

-- The backend's job cache follows what this session writes, also when it is
-- rolled back: offsets of new jobs must not count jobs that do not exist.
SET job_stagger.enabled = on;
SELECT stagger_schedule('first', '* * * * *', 'SELECT 1') > 0;
SELECT offset_seconds FROM job_stagger.jobs WHERE job_name = 'first';
BEGIN;
SELECT stagger_schedule('ghost', '* * * * *', 'SELECT 1') > 0;
SELECT offset_seconds FROM job_stagger.jobs WHERE job_name = 'ghost';
ROLLBACK;
SELECT stagger_schedule('second', '* * * * *', 'SELECT 1') > 0;
BEGIN;
SAVEPOINT s;
SELECT stagger_schedule('ghost2', '* * * * *', 'SELECT 1') > 0;
ROLLBACK TO SAVEPOINT s;
SELECT stagger_schedule('third', '* * * * *', 'SELECT 1') > 0;
COMMIT;
SELECT job_name, offset_seconds FROM job_stagger.jobs ORDER BY jobid;
-- a deleted job's second is free again; an update moves a job in the cache
SELECT stagger_unschedule('second');
SELECT stagger_set_offset('third', 50);
SELECT stagger_schedule('fourth', '* * * * *', 'SELECT 1') > 0;
SELECT job_name, offset_seconds FROM job_stagger.jobs ORDER BY jobid;
TRUNCATE job_stagger.jobs;
SELECT stagger_schedule('after_truncate', '* * * * *', 'SELECT 1') > 0;
SELECT job_name, offset_seconds FROM job_stagger.jobs ORDER BY jobid;
DELETE FROM job_stagger.jobs;
RESET job_stagger.enabled;
