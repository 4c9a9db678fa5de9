-- The analysis views (job_stagger.concurrency, duration_comparison,
-- success_rate, start_distribution, overlaps, offset_verification) on a
-- small history of known shape, and row-level security through them.
-- Everything happens in one transaction that is rolled back: the scheduler
-- never sees these jobs (they are never committed) and no row is left behind.
-- The history lies on 2024-03-10, where no other test writes; one run is still
-- going, so it counts until now.
SET timezone = 'UTC';
SET datestyle = 'ISO';
\set VERBOSITY terse

-- the views keep the caller's row-level security
SELECT c.relname, c.reloptions FROM pg_class c
 WHERE c.relnamespace = 'job_stagger'::regnamespace AND c.relkind = 'v'
   AND c.relname IN ('concurrency', 'duration_comparison', 'success_rate', 'start_distribution', 'overlaps',
                     'offset_verification')
 ORDER BY 1;

BEGIN;
DELETE FROM job_stagger.jobs;
CREATE ROLE regress_viewer LOGIN;
SELECT stagger_schedule('v_alpha', '* * * * *', 'SELECT 1', 5) > 0 AS alpha,
       stagger_schedule('v_beta', '* * * * *', 'SELECT 1', 20) > 0 AS beta,
       stagger_schedule('v_gamma', '* * * * *', 'SELECT 1', 40) > 0 AS gamma,
       stagger_schedule('v_idle', '* * * * *', 'SELECT 1', 50, active => false) > 0 AS idle,
       stagger_schedule('v_viewer', '* * * * *', 'SELECT 1', 7, username => 'regress_viewer') > 0 AS viewer,
       stagger_schedule('w_one', '* * * * *', 'SELECT 1', 1) > 0 AS w_one,
       stagger_schedule('w_two', '* * * * *', 'SELECT 1', 2) > 0 AS w_two;

-- One row per due slot, times in seconds after 12:00:00 (start/end NULL: never
-- started / still going). 12:00 and 12:01 with staggering off (all at :00),
-- from 12:02 staggered at the jobs' offsets (5, 20, 40). Before 12:00, w_one
-- and w_two test minute boundaries only.
CREATE FUNCTION pg_temp.at(s numeric) RETURNS timestamptz LANGUAGE sql IMMUTABLE
    AS $$ SELECT timestamptz '2024-03-10 12:00:00+00' + s * interval '1 second' $$;
INSERT INTO job_stagger.job_run_details
    (jobid, job_name, username, database, command, status, scheduled_at, nominal_at, started_at, ended_at,
     stagger_enabled, offset_seconds, effective_schedule)
SELECT j.jobid, j.job_name, j.username, j.database, j.command, v.status, pg_temp.at(v.due),
       pg_temp.at(floor(v.due / 60.0) * 60), pg_temp.at(v.started), pg_temp.at(v.ended), v.staggered,
       CASE WHEN v.staggered THEN j.offset_seconds ELSE 0 END,
       job_stagger.effective_schedule(j.schedule, j.offset_seconds, v.staggered)
  FROM (VALUES
        ( 1, 'v_alpha',  'succeeded',   0,   0.000,   2.000, false),
        ( 2, 'v_beta',   'succeeded',   0,   0.000,   1.000, false),
        ( 3, 'v_gamma',  'failed',      0,   0.500,   3.500, false),
        ( 4, 'v_alpha',  'succeeded',  60,  60.000,  64.000, false),
        ( 5, 'v_beta',   'skipped',    60,    NULL,  60.001, false),
        ( 6, 'v_gamma',  'timed_out',  60,  60.200,  61.200, false),
        ( 7, 'v_alpha',  'succeeded', 125, 125.001, 126.001, true),
        ( 8, 'v_beta',   'succeeded', 140, 140.002, 140.502, true),
        ( 9, 'v_gamma',  'succeeded', 160, 161.000, 162.000, true),   -- 1 s late: second 41
        (10, 'v_alpha',  'succeeded', 185, 185.000, 250.000, true),   -- 12:03:05 to 12:04:10
        (11, 'v_beta',   'succeeded', 200, 200.000, 220.000, true),   -- ends as run 12 starts
        (12, 'v_gamma',  'succeeded', 220, 220.000, 242.000, true),   -- 12:03:40 to 12:04:02
        (13, 'v_alpha',  'skipped',   245,    NULL, 245.001, true),
        (14, 'v_beta',   'running',   260, 260.000,    NULL, true),   -- still going
        (15, 'v_gamma',  'crashed',   280, 280.000, 281.000, true),
        (16, 'v_viewer', 'succeeded', 607, 607.000, 608.000, true),
        (17, 'v_viewer', 'failed',    667, 667.000, 667.500, true),
        (18, 'w_one',    'succeeded', -630, -630.000, -600.000, false),  -- ends at 11:50:00 sharp
        (19, 'w_two',    'succeeded', -600, -600.000, -599.000, false),  -- starts at 11:50:00 sharp
        (20, 'w_one',    'succeeded', -310, -310.000, -300.000, false),  -- ends at 11:55:00 sharp
        (21, 'w_two',    'succeeded', -290, -290.000, -289.000, false)) v(n, job, status, due, started, ended, staggered)
  JOIN job_stagger.jobs j ON j.job_name = v.job
 ORDER BY v.n;
-- runs are shown by their number above
SELECT min(runid) - 1 AS r0 FROM job_stagger.job_run_details WHERE job_name LIKE 'v\_%' \gset
SELECT runid - :r0 AS run, job_name, status, stagger_enabled, offset_seconds, effective_schedule
  FROM job_stagger.job_run_details WHERE job_name LIKE 'v\_%' ORDER BY runid;

-- Concurrency per minute, all runs. Intervals are half-open: at 11:50:00 one
-- run ends as the other starts (1 at once), at 11:55:00 nothing executes.
-- 12:00: 3 at once from 12:00:00.5. 12:01: 2. 12:02: never more than 1, first
-- at :05. 12:03: 2 from :20; at :40 run 11 ends as run 12 starts, still 2.
-- 12:04: runs 10 and 12 carried in, so 2 at the first instant, and again 2 at
-- :40 (runs 14 and 15). 12:10 and 12:11: the viewer's runs beside run 14,
-- still going.
SELECT minute, stagger_enabled, runs, peak_concurrency, worst_second FROM job_stagger.concurrency
 WHERE minute BETWEEN '2024-03-10 11:45+00' AND '2024-03-10 12:15+00' ORDER BY minute, stagger_enabled;

-- Durations (ms) of finished runs: v_alpha 2000 and 4000 off, 1000 and 65000
-- on; v_beta 1000 off, 500 and 20000 on (run 14 has not ended); v_gamma 3000
-- and 1000 off, 1000, 22000 and 1000 on. Percentiles interpolate.
SELECT * FROM job_stagger.duration_comparison WHERE job_name LIKE 'v\_%' ORDER BY job_name;

-- outcomes; success_pct is over finished runs (not starting or running)
SELECT * FROM job_stagger.success_rate WHERE job_name LIKE 'v\_%' ORDER BY job_name, stagger_enabled;

-- the histogram of start seconds
SELECT * FROM job_stagger.start_distribution WHERE job_name LIKE 'v\_%' ORDER BY job_name, stagger_enabled, start_second;

-- Overlapping runs of different jobs, each pair once; runs 11 and 12 only
-- touch (one ends as the other starts) and do not overlap.
SELECT job_a, runid_a - :r0 AS run_a, job_b, runid_b - :r0 AS run_b, overlap_start, overlap_end, overlap_ms
  FROM job_stagger.overlaps WHERE job_a LIKE 'v\_%' ORDER BY runid_a, runid_b;
-- a filter on overlap_start: the later of the two starts
SELECT runid_a - :r0 AS run_a, runid_b - :r0 AS run_b FROM job_stagger.overlaps
 WHERE overlap_start >= '2024-03-10 12:04+00' AND overlap_start < '2024-03-11' ORDER BY 1, 2;

-- Offsets against observed start seconds (staggered runs that started), and
-- lags: v_alpha 1 and 0 ms; v_beta 2, 0, 0; v_gamma 1000 (second 41), 0, 0.
-- The inactive v_idle is not listed.
SELECT * FROM job_stagger.offset_verification WHERE job_name LIKE 'v\_%' ORDER BY job_name;
-- the configured offset follows a job_stagger.offsets override
SET LOCAL job_stagger.offsets = 'v_gamma=41';
SELECT job_name, configured_offset, on_offset_pct FROM job_stagger.offset_verification
 WHERE job_name = 'v_gamma';
RESET job_stagger.offsets;

-- A non-superuser sees only the runs and jobs of its own role through every
-- view: at 12:10 and 12:11 only its own run is executing.
SET ROLE regress_viewer;
SELECT minute, stagger_enabled, runs, peak_concurrency, worst_second FROM job_stagger.concurrency ORDER BY 1, 2;
SELECT * FROM job_stagger.duration_comparison;
SELECT * FROM job_stagger.success_rate;
SELECT * FROM job_stagger.start_distribution;
SELECT count(*) AS overlaps FROM job_stagger.overlaps;
SELECT * FROM job_stagger.offset_verification;
RESET ROLE;
ROLLBACK;
