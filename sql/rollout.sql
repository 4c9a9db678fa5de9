-- KPI snapshots (stagger_kpi_snapshot), rollout checks (stagger_rollout_check)
-- and rollback triggers (stagger_rollback_triggers) on a history of known
-- shape relative to now(). The checks read the whole history, the pool
-- samples and the jobs, so the scenario runs in one REPEATABLE READ
-- transaction that first empties them (and the snapshots) and is rolled back
-- at the end: neither the live scheduler's writes (pool samples every minute)
-- nor earlier tests' runs reach it, the scheduler never sees its jobs, and
-- now() stays put.
SET timezone = 'UTC';
SET datestyle = 'ISO';
SET intervalstyle = 'postgres';
\set VERBOSITY terse

-- bad windows
SELECT * FROM stagger_rollout_check('0');
SELECT * FROM stagger_rollout_check('-5 minutes');
SELECT * FROM stagger_rollout_check(NULL);
SELECT * FROM stagger_rollback_triggers('0');
SELECT * FROM stagger_kpi_snapshot('0');
SELECT * FROM stagger_kpi_snapshot('-1 hour');
-- only superusers and monitoring roles take and read snapshots
CREATE ROLE regress_rollout LOGIN;
SET ROLE regress_rollout;
SELECT * FROM stagger_kpi_snapshot();
SELECT count(*) FROM job_stagger.kpi_snapshots;
RESET ROLE;
DROP ROLE regress_rollout;

-- "stagger_enabled" needs the setting on and the scheduler running with it
CREATE FUNCTION pg_temp.applied(want boolean) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1..300 LOOP
        IF (job_stagger.scheduler_status()).applied_enabled IS NOT DISTINCT FROM want THEN
            RETURN true;
        END IF;
        PERFORM pg_sleep(0.1);
    END LOOP;
    RETURN false;
END $$;
-- (what the scheduler reports before its first reload depends on its history)
SET job_stagger.enabled = on;
SELECT check_name, passed, detail LIKE 'job_stagger.enabled is on; %' AS detail_ok
  FROM stagger_rollout_check() WHERE check_name = 'stagger_enabled';
RESET job_stagger.enabled;
ALTER SYSTEM SET job_stagger.enabled = on;
SELECT pg_reload_conf();
SELECT pg_temp.applied(true) AS scheduler_applied_on;
SHOW job_stagger.enabled;

-- wait until no run is in progress: emptying the history then meets no scheduler write
CREATE FUNCTION pg_temp.quiet() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1..300 LOOP
        IF NOT EXISTS (SELECT FROM job_stagger.job_run_details WHERE status IN ('starting', 'running')) THEN
            RETURN true;
        END IF;
        PERFORM pg_sleep(0.1);
    END LOOP;
    RETURN false;
END $$;
SELECT pg_temp.quiet() AS history_quiet;

BEGIN ISOLATION LEVEL REPEATABLE READ;
DELETE FROM job_stagger.job_run_details;
DELETE FROM job_stagger.pool_samples;
DELETE FROM job_stagger.kpi_snapshots;
DELETE FROM job_stagger.jobs;
SELECT stagger_schedule(j, '* * * * *', 'SELECT 1', o) > 0 AS created
  FROM (VALUES ('ro_a', 10), ('ro_b', 20), ('ro_c', 30), ('ro_d', 40)) v(j, o);

-- A run of job j due at minute m (relative to the current minute) plus the
-- job's offset when staggered, starting lag_s after that and lasting dur_s
-- (start NULL: never started).
CREATE FUNCTION pg_temp.run(j text, status text, m integer, staggered boolean, lag_s numeric, dur_s numeric)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO job_stagger.job_run_details
        (jobid, job_name, username, database, command, status, scheduled_at, nominal_at, started_at, ended_at,
         stagger_enabled, offset_seconds, effective_schedule)
    SELECT jobid, job_name, username, database, command, status, due, nominal,
           due + lag_s * interval '1 s', due + (coalesce(lag_s, 0) + dur_s) * interval '1 s', staggered,
           CASE WHEN staggered THEN offset_seconds ELSE 0 END,
           job_stagger.effective_schedule(schedule, offset_seconds, staggered)
      FROM job_stagger.jobs,
           LATERAL (SELECT date_trunc('minute', now()) + m * interval '1 minute' AS nominal) n,
           LATERAL (SELECT nominal + CASE WHEN staggered THEN offset_seconds ELSE 0 END * interval '1 s' AS due) d
     WHERE job_name = j
$$;
CREATE FUNCTION pg_temp.sample(m numeric, staggered boolean, pct numeric, conn numeric) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO job_stagger.pool_samples (sampled_at, stagger_enabled, running_jobs, peak_running_jobs,
                                          max_running_jobs, job_pool_pct, client_backends, max_connections,
                                          conn_pool_pct)
    VALUES (date_trunc('minute', now()) + m * interval '1 minute', staggered, 0, round(pct * 32 / 100), 32, pct,
            conn, 100, conn)
$$;

-- Baseline, staggering off: 3 minutes, 90 to 92 minutes ago, all jobs but ro_d
-- at :00 for 3 s (3 at once), one of the 9 failed (11.1%); pool 50.0% and
-- 62.5%. Older data (200 minutes ago) is outside the baseline stretch.
SELECT pg_temp.run(j, CASE WHEN m = -91 AND j = 'ro_b' THEN 'failed' ELSE 'succeeded' END, m, false, 0.001, 3)
  FROM generate_series(-92, -90) m, unnest(ARRAY['ro_a', 'ro_b', 'ro_c']) j;
SELECT pg_temp.run('ro_a', 'failed', -200, false, 0.001, 3);
SELECT pg_temp.sample(-200, false, 10.0, 5), pg_temp.sample(-95, false, 50.0, 40), pg_temp.sample(-91, false, 62.5, 45);
-- Staggered, in the last 30 minutes: 3 minutes, each job at its offset (ro_c
-- runs 2.5 s), one at a time; pool 6.3% and 12.5%.
SELECT pg_temp.run(j, 'succeeded', m, true, 0.001, CASE j WHEN 'ro_c' THEN 2.5 ELSE 1 END)
  FROM generate_series(-3, -1) m, unnest(ARRAY['ro_a', 'ro_b', 'ro_c']) j;
SELECT pg_temp.sample(-2, true, 6.3, 5), pg_temp.sample(-1, true, 12.5, 7);
-- Staggered, 40 minutes ago (in the last hour, not in the last 30 minutes):
-- ro_a skipped, ro_b runs 15 s and meets ro_c (2.5 s).
SELECT pg_temp.run('ro_a', 'skipped', -40, true, NULL, 0),
       pg_temp.run('ro_b', 'succeeded', -40, true, 0, 15), pg_temp.run('ro_c', 'succeeded', -40, true, 0, 2.5);

-- KPI snapshot of the last hour: 12 runs, 1 skipped, no errors; pool from the
-- two staggered samples; slow runs (over 2 s): ro_b's 15 s and ro_c's four;
-- 2 runs at once 40 minutes ago; durations of the 11 runs that ran.
SHOW job_stagger.slow_job_threshold_ms;
SELECT taken_at = now() AS taken_now, window_end = now() AS ends_now, window_end - window_start AS length,
       stagger_enabled, runs, pool_avg_pct, pool_min_pct, pool_max_pct, conn_pool_avg_pct, conn_pool_max_pct,
       slow_runs, error_rate_pct, skipped, peak_concurrency, taken_by
  FROM stagger_kpi_snapshot('1 hour');
SELECT max(snapshot_id) AS snap FROM job_stagger.kpi_snapshots \gset
-- the stored row, and its durations per job
SELECT taken_at = now() AS taken_now, window_end = now() AS ends_now, window_end - window_start AS length,
       stagger_enabled, runs, pool_avg_pct, pool_min_pct, pool_max_pct, conn_pool_avg_pct, conn_pool_max_pct,
       slow_runs, error_rate_pct, skipped, peak_concurrency, taken_by
  FROM job_stagger.kpi_snapshots WHERE snapshot_id = :snap;
SELECT jsonb_pretty(durations) AS durations FROM job_stagger.kpi_snapshots WHERE snapshot_id = :snap;
-- Taken by the scheduler, default window of 6 hours: also the baseline and the
-- run and sample of 200 minutes ago: 22 runs, 2 failed, 3 at once.
SET LOCAL application_name = 'job_stagger launcher';
SELECT taken_by, window_end - window_start AS length, runs, error_rate_pct, peak_concurrency, pool_avg_pct,
       pool_max_pct FROM stagger_kpi_snapshot();
RESET application_name;
SELECT count(*) AS snapshots FROM job_stagger.kpi_snapshots;

-- Everything as planned: every check passes, no trigger fires.
SELECT * FROM stagger_rollout_check('30 minutes');
SELECT * FROM stagger_rollback_triggers('30 minutes');
-- the defaults are 30 minutes
SELECT (SELECT array_agg(passed) FROM stagger_rollout_check()) = (SELECT array_agg(passed)
          FROM stagger_rollout_check('30 minutes')) AS same_checks,
       (SELECT array_agg(fired) FROM stagger_rollback_triggers()) = (SELECT array_agg(fired)
          FROM stagger_rollback_triggers('30 minutes')) AS same_triggers;

-- staggering off in this session: the first check fails
SAVEPOINT s;
SET LOCAL job_stagger.enabled = off;
SELECT * FROM stagger_rollout_check() WHERE check_name = 'stagger_enabled';
ROLLBACK TO SAVEPOINT s;

-- Errors: ro_a failed and ro_b crashed a minute ago. 2 of 9 staggered runs
-- (22.2%) against 11.1% at baseline; 7 of 9 succeeded.
SAVEPOINT s;
UPDATE job_stagger.job_run_details SET status = 'failed'
 WHERE job_name = 'ro_a' AND nominal_at = date_trunc('minute', now()) - interval '1 minute';
UPDATE job_stagger.job_run_details SET status = 'crashed'
 WHERE job_name = 'ro_b' AND nominal_at = date_trunc('minute', now()) - interval '1 minute';
SELECT * FROM stagger_rollout_check() WHERE check_name IN ('no_errors', 'completion_rate');
SELECT * FROM stagger_rollback_triggers() WHERE trigger_name = 'error_rate_up';
ROLLBACK TO SAVEPOINT s;

-- Offsets not applied: ro_c started 1.5 s late two minutes ago (second 31,
-- 1 of 9 runs = 11.1%), and ro_a ran on its 5-field schedule.
SAVEPOINT s;
UPDATE job_stagger.job_run_details SET started_at = started_at + interval '1.5 s', ended_at = ended_at + interval '1.5 s'
 WHERE job_name = 'ro_c' AND nominal_at = date_trunc('minute', now()) - interval '2 minutes';
UPDATE job_stagger.job_run_details SET effective_schedule = '* * * * *'
 WHERE job_name = 'ro_a' AND nominal_at = date_trunc('minute', now()) - interval '2 minutes';
SELECT * FROM stagger_rollout_check() WHERE check_name IN ('six_field_applied', 'jobs_spread');
SELECT * FROM stagger_rollback_triggers() WHERE trigger_name = 'jobs_off_offset';
ROLLBACK TO SAVEPOINT s;

-- Pool: three more staggered samples at 100% (average 63.8% of 5 against the
-- 56.3% baseline); then without baseline samples.
SAVEPOINT s;
SELECT pg_temp.sample(m, true, 100.0, 50) FROM generate_series(-10, -8) m;
SELECT * FROM stagger_rollout_check() WHERE check_name = 'pool_below_baseline';
SELECT * FROM stagger_rollback_triggers() WHERE trigger_name = 'pool_above_70';
DELETE FROM job_stagger.pool_samples WHERE NOT stagger_enabled;
SELECT * FROM stagger_rollout_check() WHERE check_name = 'pool_below_baseline';
ROLLBACK TO SAVEPOINT s;

-- Concurrency: 6 minutes ago the four jobs ran 50 s each from their offsets,
-- 4 at once from :40 (more than the baseline's 3).
SAVEPOINT s;
SELECT pg_temp.run(j, 'succeeded', -6, true, 0, 50) FROM unnest(ARRAY['ro_a', 'ro_b', 'ro_c', 'ro_d']) j;
SELECT * FROM stagger_rollout_check() WHERE check_name = 'concurrency_reduced';
SELECT * FROM stagger_rollback_triggers() WHERE trigger_name = 'concurrency_above_3';
ROLLBACK TO SAVEPOINT s;

-- Collisions: ro_b moved to ro_a's second (a NOTICE says so when written).
SAVEPOINT s;
SELECT stagger_set_offset('ro_b', 10);
SELECT * FROM stagger_rollout_check() WHERE check_name IN ('jobs_spread', 'no_collisions');
SELECT * FROM stagger_rollback_triggers() WHERE trigger_name = 'collisions';
ROLLBACK TO SAVEPOINT s;

-- More than 60 active 5-field jobs: two share each offset 10, 20, 30 and 40,
-- which is then allowed (ceil(64 / 60) = 2); the extra jobs fire on 1 January
-- only, and there meet ro_a to ro_d, which the NOTICEs say.
SAVEPOINT s;
SELECT count(stagger_schedule('ro_extra_' || i, '0 0 1 1 *', 'SELECT 1', i % 60)) AS scheduled
  FROM generate_series(1, 60) i;
SELECT * FROM stagger_rollout_check() WHERE check_name = 'jobs_spread';
ROLLBACK TO SAVEPOINT s;

-- No baseline: no run and no sample with staggering off.
SAVEPOINT s;
DELETE FROM job_stagger.job_run_details WHERE NOT stagger_enabled;
DELETE FROM job_stagger.pool_samples WHERE NOT stagger_enabled;
SELECT * FROM stagger_rollout_check() WHERE check_name IN ('pool_below_baseline', 'concurrency_reduced');
SELECT * FROM stagger_rollback_triggers() WHERE trigger_name = 'error_rate_up';
ROLLBACK TO SAVEPOINT s;

-- No data: nothing in the last 10 seconds. The checks that need runs or
-- samples fail and say so; the triggers stay quiet.
SELECT * FROM stagger_rollout_check('10 seconds');
SELECT * FROM stagger_rollback_triggers('10 seconds');
ROLLBACK;

ALTER SYSTEM RESET job_stagger.enabled;
SELECT pg_reload_conf();
SELECT pg_temp.applied(false) AS scheduler_applied_off;
