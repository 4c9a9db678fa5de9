-- stagger_timeline(): the picture of whole minutes, one character per second.
-- History: runs inserted at fixed seconds before the current minute, all in
-- one transaction so now() (and with it the picture) cannot move between the
-- inserts and the calls; row-level security; validation.
SET timezone = 'UTC';
\set VERBOSITY terse
CREATE ROLE tl_b LOGIN;
-- minute labels depend on when the test runs: show their shape only
CREATE FUNCTION pg_temp.masked(t text) RETURNS text LANGUAGE sql
    AS $$ SELECT regexp_replace(t, '\d\d:\d\d', 'hh:mm', 'g') $$;
CREATE FUNCTION pg_temp.add_run(p_jobid bigint, p_name text, p_user text, p_status text, p_scheduled double precision,
                                p_started double precision, p_ended double precision) RETURNS void
LANGUAGE sql AS $$
    -- times in seconds relative to the first of the last two whole minutes
    INSERT INTO job_stagger.job_run_details
        (jobid, job_name, username, database, command, status, scheduled_at, nominal_at, started_at, ended_at,
         stagger_enabled, offset_seconds, effective_schedule)
    SELECT p_jobid, p_name, p_user, current_database(), 'SELECT 1', p_status, w + make_interval(secs => p_scheduled),
           w + make_interval(secs => p_scheduled), w + make_interval(secs => p_started),
           w + make_interval(secs => p_ended), true, 0, '* * * * *'
      FROM (SELECT date_trunc('minute', now()) - interval '2 minutes' AS w) x
$$;

BEGIN;
-- alpha (renamed from alpha_old: the latest name is shown): 4.0-7.5 s, then a failure 64.2-65.1 s
SELECT pg_temp.add_run(9001, 'alpha_old', current_user, 'succeeded', 4, 4.0, 7.5);
SELECT pg_temp.add_run(9001, 'alpha', current_user, 'failed', 64, 64.2, 65.1);
-- beta: a run from before the picture, a skipped slot at 10 s, a timeout that ends after it
SELECT pg_temp.add_run(9002, 'beta', current_user, 'succeeded', -5, -5, 3);
SELECT pg_temp.add_run(9002, 'beta', current_user, 'skipped', 10, NULL, NULL);
SELECT pg_temp.add_run(9002, 'beta', current_user, 'timed_out', 110, 110.5, 125);
-- gamma: still running since 100 s: drawn to the end; a crash recorded without an end at 30 s
SELECT pg_temp.add_run(9003, 'gamma', current_user, 'running', 100, 100, NULL);
SELECT pg_temp.add_run(9003, 'gamma', current_user, 'crashed', 30, 30, NULL);
-- outside the picture: an hour before, and in the current minute
SELECT pg_temp.add_run(9004, 'delta', current_user, 'succeeded', -3600, -3600, -3590);
SELECT pg_temp.add_run(9004, 'delta', current_user, 'succeeded', 121, 121, 122);
-- tl_b's job, at the same seconds as alpha's first run
SELECT pg_temp.add_run(9005, 'bravo', 'tl_b', 'succeeded', 4, 4.9, 6.0);
SELECT pg_temp.masked(line) FROM stagger_timeline(2);
-- the labels are the minutes' times in the session's time zone
SET LOCAL timezone = 'Asia/Kolkata';
SELECT substr(line, 22, 5) = to_char(date_trunc('minute', now()) - interval '2 minutes', 'HH24:MI') AS first_label,
       substr(line, 83, 5) = to_char(date_trunc('minute', now()) - interval '1 minute', 'HH24:MI') AS second_label
  FROM stagger_timeline(2) LIMIT 1;
-- a plain role sees its own runs only
SET LOCAL ROLE tl_b;
SELECT pg_temp.masked(line) FROM stagger_timeline(2);
RESET ROLE;
-- the last minute only, by default
SELECT pg_temp.masked(line) FROM stagger_timeline();
-- 60 minutes: rows of 20 + 60 * 61 + 1 characters, alpha's failure at 64 s is 3,480 s from the start
SELECT count(*) AS rows, min(length(line)) FILTER (WHERE line NOT LIKE 'legend:%') AS shortest,
       max(length(line)) FILTER (WHERE line NOT LIKE 'legend:%') AS longest,
       max(strpos(line, 'x')) FILTER (WHERE line LIKE 'alpha %') AS alpha_x_at
  FROM stagger_timeline(60);
ROLLBACK;

-- simulation: the next minutes, from the active jobs the caller can see
BEGIN;
SET LOCAL job_stagger.enabled = on;
SELECT stagger_schedule('sim_a', '* * * * *', 'SELECT 1', 5) > 0 AS scheduled;
SELECT stagger_schedule('sim_b', '* * * * *', 'SELECT 1', 7) > 0 AS scheduled;
SELECT stagger_schedule('sim_six', '30 * * * * *', 'SELECT 1') > 0 AS scheduled;
SELECT stagger_schedule('sim_off', '* * * * *', 'SELECT 1', 50, active => false) > 0 AS scheduled;
-- sim_a ran for 2.2 s: its estimate rounds up to 3 s and it meets sim_b at :07; the others take 1 s
INSERT INTO job_stagger.job_run_details
    (jobid, job_name, username, database, command, status, scheduled_at, nominal_at, started_at, ended_at,
     stagger_enabled, offset_seconds, effective_schedule)
SELECT jobid, job_name, username, database, command, 'succeeded', now() - interval '1 day', now() - interval '1 day',
       now() - interval '1 day', now() - interval '1 day' + interval '2.2 s', true, 5, '5 * * * * *'
  FROM job_stagger.jobs WHERE job_name = 'sim_a';
SELECT job_name, estimate FROM job_stagger.job_durations() ORDER BY job_name;
SELECT pg_temp.masked(line) FROM stagger_timeline(2, 'simulation');
-- job_stagger.offsets overrides the table's offset
SET LOCAL job_stagger.offsets = 'sim_b=40';
SELECT pg_temp.masked(line) FROM stagger_timeline(1, 'simulation');
-- staggering off: every 5-field job at :00
SET LOCAL job_stagger.enabled = off;
SELECT pg_temp.masked(line) FROM stagger_timeline(1, 'simulation');
-- the first minute is the next one, in the session's time zone
SET LOCAL timezone = 'Asia/Kolkata';
SELECT substr(line, 22, 5) = to_char(date_trunc('minute', now()) + interval '1 minute', 'HH24:MI') AS next_minute
  FROM stagger_timeline(1, 'simulation') LIMIT 1;
-- a plain role sees its own jobs only (none)
SET LOCAL ROLE tl_b;
SELECT pg_temp.masked(line) FROM stagger_timeline(1, 'simulation');
ROLLBACK;
-- the simulation function checks its own arguments
SELECT * FROM job_stagger.timeline_simulation(now(), 61, '{}', '{}');
SELECT * FROM job_stagger.timeline_simulation(now(), 1, '{1}', '{}');

-- nothing in the picture: the ruler, the running row and the legend
SELECT pg_temp.masked(line) FROM stagger_timeline(1, 'history');

-- validation
SELECT * FROM stagger_timeline(NULL);
SELECT * FROM stagger_timeline(0);
SELECT * FROM stagger_timeline(61);
SELECT * FROM stagger_timeline(2147483647);
SELECT * FROM stagger_timeline(-2147483648, 'simulation');
SELECT * FROM stagger_timeline(1, 'future');
SELECT * FROM stagger_timeline(1, NULL);
SELECT * FROM stagger_timeline(1, repeat('x', 1048576));
-- the picture function checks its own arguments
SELECT * FROM job_stagger.timeline_picture(now(), 0, '{}', '{}', '{}', '{}', '{}');
SELECT * FROM job_stagger.timeline_picture('infinity', 1, '{}', '{}', '{}', '{}', '{}');
SELECT * FROM job_stagger.timeline_picture(now(), 1, '{1}', '{}', '{}', '{}', '{}');
-- (a line break in a name cannot break the row; an unknown status is a run)
SELECT p FROM job_stagger.timeline_picture('2026-01-01 00:00+00', 1, '{1,1,2}', ARRAY[E'a\nb', 'a', 'c'], '{0,-5,58}',
                                           '{2,1,99}', '{succeeded,failed,"no such status"}') p;

DROP ROLE tl_b;
