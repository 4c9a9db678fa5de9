-- Per-job time zones (0.7): each job's schedule is read in its own zone
-- (jobs.timezone, else job_stagger.timezone). Collisions are judged on real
-- instants across zones (functions and the NOTICE), stagger_next_runs and
-- job_stagger.next_fire take a zone, and the job_status view shows each job
-- with the zone applied, its next fire and its history, under row-level
-- security. Jobs here fire only around New Year (never during the test).
SET timezone = 'UTC';
SET datestyle = 'ISO';
SET intervalstyle = 'postgres';
\set VERBOSITY terse

-- the next fire instants in a zone, at a fixed reference instant (spring-forward weekends)
SELECT t AS utc, t AT TIME ZONE 'America/New_York' AS new_york
  FROM stagger_next_runs('30 2 * * *', '2026-03-06 12:00+00', 3, 'America/New_York') t;
SELECT t AS utc, t AT TIME ZONE 'Australia/Lord_Howe' AS lord_howe
  FROM stagger_next_runs('15 2 * * *', '2026-10-02 00:00+00', 3, 'Australia/Lord_Howe') t;
SELECT t FROM stagger_next_runs('0 9 * * *', '2026-03-06 12:00+00', 2, 'Asia/Kolkata') t;
SELECT t FROM stagger_next_runs('0 9 * * *', '2026-03-06 12:00+00', 2) t;           -- job_stagger.timezone
SELECT t FROM stagger_next_runs('0 9 * * *', '2026-03-06 12:00+00', 2, '') t;       -- the same
SELECT count(*) FROM stagger_next_runs('0 9 * * *', now(), 2, NULL);               -- STRICT: no rows
SELECT stagger_next_runs('0 9 * * *', now(), 1, 'Mars/Olympus');
SELECT stagger_next_runs('0 9 * * *', now(), 1, '../../etc/passwd');

-- job_stagger.next_fire: the next effective fire (offset applied when staggering is on)
SET job_stagger.enabled = on;
SELECT z AS zone, job_stagger.next_fire('0 * * * *', 20, z, '-infinity', '2026-03-07 12:10+00') AS next_fire
  FROM unnest(ARRAY['UTC', 'Asia/Kolkata', 'America/St_Johns', 'Asia/Kathmandu', 'Australia/Lord_Howe']) z;
SELECT job_stagger.next_fire('0 * * * *', 20, '', '-infinity', '2026-03-07 12:10+00') AS default_zone,
       job_stagger.next_fire('0 * * * *', 20, 'Asia/Kolkata', '2026-03-07 12:30+00', '2026-03-07 12:10+00')
           AS after_last_slot,
       job_stagger.next_fire('@reboot', 0, 'UTC', '-infinity', now()) AS reboot,
       job_stagger.next_fire('61 * * * *', 0, 'UTC', '-infinity', now()) AS bad_schedule,
       job_stagger.next_fire('0 * * * *', 60, 'UTC', '-infinity', now()) AS bad_offset,
       job_stagger.next_fire('0 * * * *', 0, 'Nowhere/Land', '-infinity', now()) AS bad_zone;
RESET job_stagger.enabled;

-- collisions across zones: 0 * (hourly on 1 January) at +05:30 fires at :30 UTC on 31 December
SELECT stagger_schedule('tz_kolkata', '0 * 1 1 *', 'SELECT 1', offset_seconds => 10, timezone => 'Asia/Kolkata') > 0 AS ok;
SELECT stagger_schedule('tz_utc_30', '30 * 31 12 *', 'SELECT 1', offset_seconds => 10) > 0 AS ok;
SELECT stagger_schedule('tz_utc_00', '0 * 31 12 *', 'SELECT 1', offset_seconds => 10) > 0 AS ok;
SELECT stagger_schedule('tz_johns', '0 * 31 12 *', 'SELECT 1', offset_seconds => 10, timezone => 'America/St_Johns') > 0 AS ok;
SET job_stagger.enabled = on;
-- Kolkata meets the UTC :30 job (18:30-23:30 UTC on 31 December = 00:00-05:00 IST on 1 January),
-- St John's (-03:30) :00 meets it too; nothing meets the UTC :00 job
SELECT job_a, job_b, second, to_char(first_collision, 'MM-DD HH24:MI:SS') AS first_utc, collisions_per_day
  FROM stagger_collisions() ORDER BY job_a, job_b;
SELECT valid, jsonb_array_length(collisions) AS pairs FROM stagger_validate();
-- the NOTICE names the jobs of the other zones, and a free offset
SELECT stagger_set_offset('tz_utc_30', 11);
\set VERBOSITY default
SELECT stagger_set_offset('tz_utc_30', 10);
\set VERBOSITY terse
-- read in UTC instead, the Kolkata job (1 January) meets none of the 31 December jobs; moved back, the NOTICE comes again
SELECT stagger_alter_job('tz_kolkata', timezone => 'UTC');
SELECT job_a, job_b FROM stagger_collisions() ORDER BY job_a, job_b;
SELECT stagger_alter_job('tz_kolkata', timezone => 'Asia/Kolkata');
-- the summary names each job's zone
SELECT regexp_replace(line, '\d{4}-(\d\d-\d\d)', 'YYYY-\1', 'g') AS line
  FROM regexp_split_to_table(stagger_summary(), E'\n') WITH ORDINALITY AS l(line, n)
 WHERE line ~ '^  (job|tz_)' ORDER BY n;
-- a new job without an offset is placed away from the jobs it would meet in real time
SELECT stagger_schedule('tz_new', '0 * 1 1 *', 'SELECT 1', timezone => 'Asia/Kolkata') > 0 AS ok;
SELECT offset_seconds <> 10 AS placed_apart FROM job_stagger.jobs WHERE job_name = 'tz_new';
RESET job_stagger.enabled;

-- job_status: one row per job, with the zone applied and the next fire in it
SELECT job_name, schedule, effective_schedule, offset_seconds, timezone, active,
       next_fire = job_stagger.next_fire(schedule, offset_seconds, timezone, '-infinity', now()) AS next_fire_ok,
       next_fire > now() AND next_fire <= now() + interval '400 days' AS next_fire_ahead,
       runs, successes, failures, running_now, last_status
  FROM job_stagger.job_status ORDER BY jobid;
SELECT column_name, data_type FROM information_schema.columns
 WHERE table_schema = 'job_stagger' AND table_name = 'job_status' ORDER BY ordinal_position;
-- next_fire in each job's zone: :00 in Kolkata is :30 UTC, in St John's :30 UTC too, in UTC :00
SELECT job_name, to_char(next_fire, 'MM-DD HH24:MI:SS') AS next_fire_utc FROM job_stagger.job_status
 WHERE job_name IN ('tz_kolkata', 'tz_utc_00', 'tz_johns') ORDER BY job_name;
-- follows job_stagger.timezone for jobs without their own zone (a superuser's SET previews)
SET job_stagger.timezone = 'Asia/Tokyo';
SELECT job_name, timezone, to_char(next_fire, 'MM-DD HH24:MI:SS') AS next_fire_utc FROM job_stagger.job_status
 WHERE job_name IN ('tz_kolkata', 'tz_utc_00') ORDER BY job_name;
RESET job_stagger.timezone;
-- inactive: no next fire
SELECT stagger_alter_job('tz_utc_00', active => false);
SELECT job_name, active, next_fire FROM job_stagger.job_status WHERE job_name = 'tz_utc_00';

-- the history columns, from the kept rows (one per row)
INSERT INTO job_stagger.job_run_details
    (jobid, job_name, username, database, command, status, scheduled_at, nominal_at, started_at, ended_at,
     stagger_enabled, offset_seconds, effective_schedule)
SELECT j.jobid, j.job_name, j.username, j.database, j.command, v.status, v.s, v.s,
       CASE WHEN v.status <> 'skipped' THEN v.s END,
       CASE WHEN v.status NOT IN ('skipped', 'running') THEN v.s + v.d END,
       false, 0, j.schedule
  FROM job_stagger.jobs j
  JOIN (VALUES ('succeeded', timestamptz '2020-01-01 00:00:00', interval '2 s'),
               ('failed', '2020-01-01 01:00:00', '1 s'),
               ('timed_out', '2020-01-01 02:00:00', '5 s'),
               ('skipped', '2020-01-01 03:00:00', '0 s'),
               ('succeeded', '2020-01-01 04:00:00', '3.5 s')) v(status, s, d) ON true
 WHERE j.job_name = 'tz_kolkata';
SELECT job_name, runs, successes, failures, running_now, last_status, last_start, last_duration
  FROM job_stagger.job_status WHERE job_name = 'tz_kolkata';
INSERT INTO job_stagger.job_run_details
    (jobid, job_name, username, database, command, status, scheduled_at, nominal_at, started_at,
     stagger_enabled, offset_seconds, effective_schedule)
SELECT j.jobid, j.job_name, j.username, j.database, j.command, 'running', '2020-01-01 05:00', '2020-01-01 05:00',
       '2020-01-01 05:00:01', false, 0, j.schedule
  FROM job_stagger.jobs j WHERE j.job_name = 'tz_kolkata';
SELECT job_name, runs, successes, failures, running_now, last_status, last_start, last_duration
  FROM job_stagger.job_status WHERE job_name = 'tz_kolkata';
-- the last run is found through the (jobid, scheduled_at) index, per job
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT last_status FROM job_stagger.job_status WHERE jobid = 1;
RESET enable_seqscan;
DELETE FROM job_stagger.job_run_details WHERE job_name = 'tz_kolkata';

-- row-level security: each role sees its own jobs only
CREATE ROLE tz_alice LOGIN;
CREATE ROLE tz_bob LOGIN;
SET ROLE tz_alice;
SELECT stagger_schedule('alice_job', '0 9 1 1 *', 'SELECT 1', timezone => 'Europe/Berlin') > 0 AS ok;
SELECT job_name, username, timezone FROM job_stagger.job_status ORDER BY job_name;
RESET ROLE;
SET ROLE tz_bob;
SELECT stagger_schedule('bob_job', '0 9 1 1 *', 'SELECT 1') > 0 AS ok;
SELECT job_name, username, timezone FROM job_stagger.job_status ORDER BY job_name;
RESET ROLE;
SELECT job_name, username FROM job_stagger.job_status WHERE username LIKE 'tz_%' ORDER BY job_name;
SELECT c.relname, c.reloptions FROM pg_class c WHERE c.oid = 'job_stagger.job_status'::regclass;

-- clean up
SELECT stagger_unschedule(jobid) FROM job_stagger.jobs
 WHERE job_name IN ('tz_kolkata', 'tz_utc_30', 'tz_utc_00', 'tz_johns', 'tz_new', 'alice_job', 'bob_job');
DROP ROLE tz_alice;
DROP ROLE tz_bob;
