-- The offset optimiser in SQL (0.6): jobs.offset_pinned and how it is set,
-- stagger_simulate / stagger_simulate_totals (durations from the run
-- history, 1 s without), stagger_optimize (pinned jobs and job_stagger.offsets
-- stay, an exclusive group is kept apart, deterministic), apply (offsets,
-- offset_changes rows), row-level security for a second role, bad input.
-- Horizon-dependent values (peak_at, the horizon) are not printed: every
-- schedule here has the same fires in any 24 hours.
SET timezone = 'UTC';
SET datestyle = 'ISO';
\set VERBOSITY terse
SET client_min_messages = warning; -- collision NOTICEs are tested elsewhere
SELECT count(*) AS jobs_before FROM job_stagger.jobs;

-- offset_pinned: true when the offset was given, false when it was placed
SELECT stagger_schedule('opt_pinned', '* * * * *', 'SELECT 1', 0) > 0 AS scheduled;
SELECT stagger_schedule('opt_long', '* * * * *', 'SELECT 1', 0) > 0 AS scheduled;
SELECT stagger_schedule('opt_g1', '*/2 * * * *', 'SELECT 1', 0, exclusive_group => 'grp') > 0 AS scheduled;
SELECT stagger_schedule('opt_g2', '*/2 * * * *', 'SELECT 1', 0, exclusive_group => 'grp') > 0 AS scheduled;
SELECT stagger_schedule('opt_six', '0 * * * * *', 'SELECT 1') > 0 AS scheduled;
SELECT stagger_schedule('opt_placed', '*/5 * * * *', 'SELECT 1') > 0 AS scheduled;
INSERT INTO job_stagger.jobs (job_name, schedule, command, offset_seconds) VALUES ('opt_direct', '0 * * * *', 'SELECT 1', 7);
INSERT INTO job_stagger.jobs (job_name, schedule, command) VALUES ('opt_direct_placed', '0 * * * *', 'SELECT 1');
SELECT job_name, offset_pinned FROM job_stagger.jobs ORDER BY jobid;
-- unpinning keeps the offset (a direct UPDATE of the column)
UPDATE job_stagger.jobs SET offset_pinned = false WHERE job_name IN ('opt_long', 'opt_g1', 'opt_g2');
-- stagger_set_offset pins (also with the offset the job has); NULL unpins and places the job again
SELECT stagger_set_offset('opt_placed', (SELECT offset_seconds FROM job_stagger.jobs WHERE job_name = 'opt_placed'));
SELECT offset_pinned FROM job_stagger.jobs WHERE job_name = 'opt_placed';
SELECT stagger_set_offset('opt_placed', NULL);
SELECT offset_pinned, offset_seconds BETWEEN 0 AND 59 AS placed FROM job_stagger.jobs WHERE job_name = 'opt_placed';
-- a direct UPDATE of the offset pins; to NULL unpins and places
UPDATE job_stagger.jobs SET offset_seconds = 33 WHERE job_name = 'opt_direct_placed';
SELECT offset_pinned FROM job_stagger.jobs WHERE job_name = 'opt_direct_placed';
UPDATE job_stagger.jobs SET offset_seconds = NULL WHERE job_name = 'opt_direct_placed';
SELECT offset_pinned FROM job_stagger.jobs WHERE job_name = 'opt_direct_placed';
-- stagger_schedule with the offset the job already has pins it; without an offset it keeps the flag
SELECT stagger_schedule('opt_direct_placed', '0 * * * *', 'SELECT 2',
                        (SELECT offset_seconds FROM job_stagger.jobs WHERE job_name = 'opt_direct_placed')) > 0;
SELECT offset_pinned FROM job_stagger.jobs WHERE job_name = 'opt_direct_placed';
SELECT stagger_schedule('opt_long', '* * * * *', 'SELECT 1') > 0;
SELECT offset_pinned FROM job_stagger.jobs WHERE job_name = 'opt_long';
-- stagger_alter_job changes no offset and no flag
SELECT stagger_alter_job('opt_long', command => 'SELECT 11');
SELECT offset_pinned FROM job_stagger.jobs WHERE job_name = 'opt_long';
-- the hourly ones leave the picture
UPDATE job_stagger.jobs SET active = false WHERE job_name LIKE 'opt\_direct%';
UPDATE job_stagger.jobs SET offset_seconds = 0 WHERE job_name = 'opt_placed';
UPDATE job_stagger.jobs SET offset_pinned = false WHERE job_name = 'opt_placed';

-- durations: opt_long's last 20 runs took 10 s (p95 10 s); the others have none (1 s)
INSERT INTO job_stagger.job_run_details
    (jobid, job_name, username, database, command, status, scheduled_at, nominal_at, started_at, ended_at,
     stagger_enabled, offset_seconds, effective_schedule)
SELECT j.jobid, j.job_name, j.username, j.database, j.command, 'succeeded', t, t, t, t + interval '10 s',
       false, 0, j.schedule
  FROM job_stagger.jobs j, generate_series(timestamptz '2020-01-01', '2020-01-01 00:19', '1 minute') t
 WHERE j.job_name = 'opt_long';
SELECT job_name, estimate, source FROM job_stagger.job_durations() WHERE job_name LIKE 'opt\_%' ORDER BY jobid;

-- staggering off (the session's job_stagger.enabled): every 5-field job starts at :00
SELECT second, peak_running, mean_running, starting FROM stagger_simulate() WHERE peak_running > 0 ORDER BY second;
SET job_stagger.enabled = on;
-- on, with the configured offsets (all 0): the same
SELECT second, peak_running, mean_running, starting FROM stagger_simulate() WHERE peak_running > 0 ORDER BY second;
SELECT jobs, peak, overlap_seconds, busy_seconds, group_overlap_seconds,
       horizon_end - horizon_start AS horizon, extract(second FROM horizon_start) AS start_second
  FROM stagger_simulate_totals();

-- the proposal: pinned (and 6-field) jobs stay, the group is kept apart, the peak drops
SELECT job_name, username = current_user AS mine, current_offset, proposed_offset, pinned, movable,
       peak_before, peak_after, overlap_before, overlap_after
  FROM stagger_optimize() ORDER BY job_name;
-- deterministic
SELECT (SELECT array_agg(proposed_offset ORDER BY job_name) FROM stagger_optimize())
     = (SELECT array_agg(proposed_offset ORDER BY job_name) FROM stagger_optimize()) AS same_twice;
-- opt_g1 and opt_g2 never run at the same time with the proposal
SELECT group_overlap_seconds AS group_overlap_proposed FROM stagger_simulate_totals(proposed => true);
SELECT second, peak_running, starting FROM stagger_simulate(proposed => true) WHERE peak_running > 0 ORDER BY second;
-- nothing is written without apply
SELECT (SELECT count(*) FROM job_stagger.offset_changes) AS changes, bool_and(offset_seconds = 0) AS all_still_zero
  FROM job_stagger.jobs WHERE job_name IN ('opt_long', 'opt_g1', 'opt_g2', 'opt_placed');

-- job_stagger.offsets: a job named there counts as pinned, at the override
SET job_stagger.offsets = 'opt_long=30';
SELECT job_name, current_offset, proposed_offset, pinned, movable FROM stagger_optimize() WHERE job_name = 'opt_long';
RESET job_stagger.offsets;

-- apply: the proposal is written, moved jobs stay unpinned, each move is recorded
CREATE TEMP TABLE proposal AS SELECT * FROM stagger_optimize();
SELECT count(*) AS rows_applied FROM stagger_optimize(apply => true);
SELECT j.job_name, j.offset_seconds = p.proposed_offset AS as_proposed, j.offset_pinned
  FROM job_stagger.jobs j JOIN proposal p USING (job_name) ORDER BY j.job_name;
SELECT c.job_name, c.old_offset, c.new_offset = p.proposed_offset AS as_proposed, c.changed_by,
       c.changed_by_role = current_user AS by_me, c.peak_before = p.peak_before AS peak_before_ok,
       c.peak_after = p.peak_after AS peak_after_ok
  FROM job_stagger.offset_changes c JOIN proposal p USING (job_name) ORDER BY c.job_name;
SELECT count(*) = (SELECT count(*) FROM proposal WHERE proposed_offset <> current_offset) AS one_row_per_move
  FROM job_stagger.offset_changes;
-- afterwards the optimiser proposes no move
SELECT count(*) FILTER (WHERE proposed_offset <> current_offset) AS moves_left FROM stagger_optimize();
SELECT peak, group_overlap_seconds FROM stagger_simulate_totals();

-- a second role sees and moves only its own jobs; its group 'grp' is not ours
CREATE ROLE opt_bob LOGIN;
SET ROLE opt_bob;
SELECT stagger_schedule('bob_a', '*/2 * * * *', 'SELECT 1', exclusive_group => 'grp') > 0 AS scheduled;
SELECT stagger_schedule('bob_b', '*/2 * * * *', 'SELECT 1', exclusive_group => 'grp') > 0 AS scheduled;
UPDATE job_stagger.jobs SET offset_seconds = 0;
UPDATE job_stagger.jobs SET offset_pinned = false;
SELECT job_name, current_offset, proposed_offset, pinned FROM stagger_optimize() ORDER BY job_name;
SELECT jobs FROM stagger_simulate_totals();
SELECT count(*) AS rows_applied FROM stagger_optimize(true);
SELECT job_name, old_offset, changed_by FROM job_stagger.offset_changes ORDER BY job_name;
-- it cannot record changes for other roles' jobs, nor as the scheduler
INSERT INTO job_stagger.offset_changes (jobid, job_name, username, roleid, old_offset, new_offset, changed_by)
VALUES (1, 'opt_long', 'x', 10, 0, 1, 'stagger_optimize');
INSERT INTO job_stagger.offset_changes (jobid, job_name, username, roleid, old_offset, new_offset, changed_by)
SELECT jobid, job_name, username, roleid, 0, 1, 'auto_optimize' FROM job_stagger.jobs WHERE job_name = 'bob_a';
UPDATE job_stagger.offset_changes SET new_offset = 5;
DELETE FROM job_stagger.offset_changes;
RESET ROLE;
SELECT count(*) AS visible_jobs FROM stagger_optimize();
-- a group is the role's: our opt_g1 and bob's bob_a in one second share no group, opt_g1 and opt_g2 do
UPDATE job_stagger.jobs SET offset_seconds = 0 WHERE job_name IN ('opt_g1', 'bob_a');
UPDATE job_stagger.jobs SET offset_seconds = 30 WHERE job_name IN ('opt_g2', 'bob_b');
SELECT overlap_seconds > 0 AS overlapping, group_overlap_seconds FROM stagger_simulate_totals();
UPDATE job_stagger.jobs SET offset_seconds = 0 WHERE job_name = 'opt_g2';
SELECT group_overlap_seconds FROM stagger_simulate_totals();

-- starting: at most 10 names, then how many more
SELECT stagger_schedule('opt_midnight_' || i, '0 0 * * *', 'SELECT 1', 45) > 0 FROM generate_series(1, 12) i \g /dev/null
SELECT starting FROM stagger_simulate() WHERE second = 45;
DELETE FROM job_stagger.jobs WHERE job_name LIKE 'opt\_midnight\_%';

-- bad input
SELECT * FROM stagger_optimize(NULL);
SELECT * FROM stagger_simulate(NULL);
SELECT * FROM stagger_simulate_totals(NULL);
SELECT stagger_set_offset('opt_long', 60);
SELECT stagger_set_offset('no_such_job', NULL);
SELECT job_stagger.jobs_offset_pinned();
RESET job_stagger.enabled;

-- leave no job, run, change or role behind
UPDATE job_stagger.jobs SET active = false;
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
DELETE FROM job_stagger.job_run_details;
DELETE FROM job_stagger.offset_changes;
DELETE FROM job_stagger.jobs;
DROP ROLE opt_bob;
