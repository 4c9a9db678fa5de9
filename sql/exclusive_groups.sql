-- Exclusive job groups (0.5): the jobs.exclusive_group / group_policy columns,
-- the stagger_schedule / stagger_alter_job arguments (NULL: unchanged, '':
-- leave the group), validation (the same errors for direct table writes),
-- row-level security between roles, the summary's group section and the
-- overlaps view's exclusive_group column. Schedules never fire during the test.
SET timezone = 'UTC';
SET datestyle = 'ISO';
\set VERBOSITY terse

CREATE ROLE grp_alice LOGIN;
CREATE ROLE grp_bob LOGIN;
SET ROLE grp_alice;

-- a new job: no group and policy skip unless given
SELECT stagger_schedule('grp_plain', '0 0 1 1 *', 'SELECT 1', 10) > 0 AS scheduled;
SELECT stagger_schedule('grp_one', '0 0 1 1 *', 'SELECT 1', 20, exclusive_group => 'referrals') > 0 AS scheduled;
SELECT stagger_schedule('grp_two', '0 0 1 1 *', 'SELECT 2', 20, exclusive_group => 'referrals',
                        group_policy => 'wait') > 0 AS scheduled;
SELECT job_name, exclusive_group, group_policy FROM job_stagger.jobs ORDER BY job_name;

-- stagger_schedule on an existing job: NULL keeps group and policy, '' leaves the group
SELECT stagger_schedule('grp_two', '0 0 1 1 *', 'SELECT 22', 20) > 0 AS updated;
SELECT job_name, command, exclusive_group, group_policy FROM job_stagger.jobs WHERE job_name = 'grp_two';
SELECT stagger_schedule('grp_two', '0 0 1 1 *', 'SELECT 22', 20, exclusive_group => '') > 0 AS updated;
SELECT job_name, exclusive_group, group_policy FROM job_stagger.jobs WHERE job_name = 'grp_two';
SELECT stagger_schedule('grp_two', '0 0 1 1 *', 'SELECT 22', 20, exclusive_group => 'referrals') > 0 AS updated;

-- stagger_alter_job: NULL keeps, a name sets, '' leaves; by name or by jobid
SELECT stagger_alter_job('grp_one', command => 'SELECT 11');
SELECT job_name, command, exclusive_group, group_policy FROM job_stagger.jobs WHERE job_name = 'grp_one';
SELECT stagger_alter_job('grp_one', exclusive_group => 'Team-1.nightly:batch_2', group_policy => 'wait');
SELECT job_name, exclusive_group, group_policy FROM job_stagger.jobs WHERE job_name = 'grp_one';
SELECT stagger_alter_job('grp_one', exclusive_group => '');
SELECT job_name, exclusive_group, group_policy FROM job_stagger.jobs WHERE job_name = 'grp_one';
SELECT stagger_alter_job(jobid, exclusive_group => 'referrals', group_policy => 'skip')
  FROM job_stagger.jobs WHERE job_name = 'grp_one';
SELECT job_name, exclusive_group, group_policy FROM job_stagger.jobs WHERE job_name = 'grp_one';

-- bad names and policies: a short clear error, nothing written
SELECT stagger_alter_job('grp_one', exclusive_group => 'has space');
SELECT stagger_alter_job('grp_one', exclusive_group => 'quote"d');
SELECT stagger_alter_job('grp_one', exclusive_group => 'café');
SELECT stagger_alter_job('grp_one', exclusive_group => repeat('x', 63)) IS NULL AS longest_name_ok;
SELECT stagger_alter_job('grp_one', exclusive_group => repeat('x', 64));
SELECT stagger_alter_job('grp_one', exclusive_group => repeat('x', 1048576));
SELECT stagger_schedule('grp_bad', '0 0 1 1 *', 'SELECT 1', exclusive_group => 'a/b');
SELECT stagger_alter_job('grp_one', group_policy => 'sometimes');
SELECT stagger_alter_job('grp_one', group_policy => 'queue');
SELECT stagger_alter_job('grp_one', group_policy => repeat('w', 1048576));
SELECT stagger_schedule('grp_bad', '0 0 1 1 *', 'SELECT 1', group_policy => '');
SELECT stagger_alter_job('grp_one', exclusive_group => 'referrals');
SELECT job_name, exclusive_group, group_policy FROM job_stagger.jobs ORDER BY job_name;
-- the errors with their hint or detail
\set VERBOSITY default
\set SHOW_CONTEXT never
SELECT stagger_alter_job('grp_one', exclusive_group => repeat('x', 1048576));
SELECT stagger_alter_job('grp_one', exclusive_group => 'no spaces');
\set VERBOSITY terse

-- direct table writes get the same errors
UPDATE job_stagger.jobs SET exclusive_group = '' WHERE job_name = 'grp_one';
UPDATE job_stagger.jobs SET exclusive_group = 'a b' WHERE job_name = 'grp_one';
UPDATE job_stagger.jobs SET group_policy = 'later' WHERE job_name = 'grp_one';
UPDATE job_stagger.jobs SET group_policy = NULL WHERE job_name = 'grp_one';
INSERT INTO job_stagger.jobs (job_name, schedule, command, exclusive_group) VALUES ('grp_bad', '0 0 1 1 *', 'SELECT 1', 'x y');
INSERT INTO job_stagger.jobs (job_name, schedule, command, exclusive_group, group_policy)
VALUES ('grp_direct', '0 0 1 1 *', 'SELECT 1', 'referrals', 'wait');
SELECT job_name, exclusive_group, group_policy FROM job_stagger.jobs WHERE job_name = 'grp_direct';
DELETE FROM job_stagger.jobs WHERE job_name = 'grp_direct';
RESET ROLE;

-- another role sees none of it, cannot change it, and has its own group of the same name
SET ROLE grp_bob;
SELECT count(*) AS visible FROM job_stagger.jobs;
SELECT stagger_alter_job('grp_one', exclusive_group => 'mine');
UPDATE job_stagger.jobs SET exclusive_group = 'mine', group_policy = 'wait' WHERE job_name = 'grp_one';
SELECT stagger_schedule('grp_theirs', '0 0 1 1 *', 'SELECT 3', 20, exclusive_group => 'referrals') > 0 AS scheduled;
RESET ROLE;
SELECT job_name, username, exclusive_group, group_policy FROM job_stagger.jobs
 WHERE job_name LIKE 'grp\_%' ORDER BY job_name;

-- the summary: each group with its role, members (policy, effective schedule), and a
-- warning for members of one group firing at the same second (not across roles)
SELECT regexp_replace(line, 'first [0-9-]+ [0-9:]+', 'first <time>') AS summary
  FROM regexp_split_to_table(stagger_summary(), E'\n') WITH ORDINALITY AS l(line, n)
 WHERE line ~ '^(exclusive groups|  \S+ \(role grp_|  warning: \S+ and \S+ of group)'
 ORDER BY n;

-- the overlaps view: exclusive_group is set only for two runs of one role's group
-- that executed at the same time (a violation); NULL across roles or groups
INSERT INTO job_stagger.job_run_details
    (jobid, job_name, username, database, command, status, scheduled_at, nominal_at, started_at, ended_at,
     stagger_enabled, offset_seconds, effective_schedule, exclusive_group)
SELECT j.jobid, j.job_name, j.username, j.database, j.command, 'succeeded', v.s, v.s, v.s, v.s + interval '5 s',
       true, 20, j.schedule, j.exclusive_group
  FROM job_stagger.jobs j
  JOIN (VALUES ('grp_one', timestamptz '2020-01-01 00:00:00'), ('grp_two', '2020-01-01 00:00:01'),
               ('grp_theirs', '2020-01-01 00:00:02'), ('grp_plain', '2020-01-01 00:00:03')) v(job, s)
    ON v.job = j.job_name;
SELECT job_a, job_b, overlap_ms, exclusive_group FROM job_stagger.overlaps
 WHERE job_a LIKE 'grp\_%' ORDER BY job_a, job_b;
SET ROLE grp_bob;
SELECT job_a, job_b, exclusive_group FROM job_stagger.overlaps;
RESET ROLE;

-- leave no job, run or role behind
DELETE FROM job_stagger.job_run_details WHERE job_name LIKE 'grp\_%';
DELETE FROM job_stagger.jobs WHERE job_name LIKE 'grp\_%';
DROP ROLE grp_alice;
DROP ROLE grp_bob;
