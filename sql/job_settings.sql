-- Per-job settings of 0.7: max_retries, retry_delay, timezone, history_limit.
-- Their defaults, how stagger_schedule (upsert) and stagger_alter_job keep,
-- set and reset them, and the errors for bad values (through the functions
-- and through a direct write, which the same trigger validates). Jobs here
-- never fire during the test (1 January).
SET timezone = 'UTC';
SET datestyle = 'ISO';
SET intervalstyle = 'postgres';
\set VERBOSITY terse

SELECT stagger_schedule('settings_a', '0 0 1 1 *', 'SELECT 1') AS a_id \gset
SELECT job_name, max_retries, retry_delay, timezone, history_limit FROM job_stagger.jobs WHERE jobid = :a_id;
-- given
SELECT stagger_schedule('settings_a', '0 0 1 1 *', 'SELECT 1', max_retries => 3, retry_delay => '30 seconds',
                        timezone => 'Asia/Kolkata', history_limit => 100) = :a_id AS same_id;
SELECT max_retries, retry_delay, timezone, history_limit FROM job_stagger.jobs WHERE jobid = :a_id;
-- scheduling the name again without them keeps them
SELECT stagger_schedule('settings_a', '0 0 1 1 *', 'SELECT 2') = :a_id AS same_id;
SELECT max_retries, retry_delay, timezone, history_limit FROM job_stagger.jobs WHERE jobid = :a_id;
-- stagger_alter_job: NULL keeps, '' follows job_stagger.timezone again, 0 removes the cap
SELECT stagger_alter_job('settings_a', max_retries => 5);
SELECT max_retries, retry_delay, timezone, history_limit FROM job_stagger.jobs WHERE jobid = :a_id;
SELECT stagger_alter_job(:a_id, timezone => '', history_limit => 0, retry_delay => '1 day');
SELECT max_retries, retry_delay, timezone, history_limit FROM job_stagger.jobs WHERE jobid = :a_id;
SELECT stagger_alter_job('settings_a', timezone => 'America/New_York');
SELECT timezone FROM job_stagger.jobs WHERE jobid = :a_id;

-- bad values: a clear error, nothing written
SELECT stagger_schedule('settings_b', '0 0 1 1 *', 'SELECT 1', max_retries => -1);
SELECT stagger_schedule('settings_b', '0 0 1 1 *', 'SELECT 1', max_retries => 101);
SELECT stagger_schedule('settings_b', '0 0 1 1 *', 'SELECT 1', retry_delay => '0');
SELECT stagger_schedule('settings_b', '0 0 1 1 *', 'SELECT 1', retry_delay => '900 ms');
SELECT stagger_schedule('settings_b', '0 0 1 1 *', 'SELECT 1', retry_delay => '1 day 1 second');
SELECT stagger_schedule('settings_b', '0 0 1 1 *', 'SELECT 1', retry_delay => '-1 minute');
SELECT stagger_schedule('settings_b', '0 0 1 1 *', 'SELECT 1', timezone => 'Asia/Kolkatta');
SELECT stagger_schedule('settings_b', '0 0 1 1 *', 'SELECT 1', timezone => 'Mars/Olympus_Mons');
SELECT stagger_schedule('settings_b', '0 0 1 1 *', 'SELECT 1', timezone => repeat('x', 1000000));
SELECT stagger_schedule('settings_b', '0 0 1 1 *', 'SELECT 1', timezone => '../../etc/passwd');
SELECT stagger_schedule('settings_b', '0 0 1 1 *', 'SELECT 1', history_limit => -5);
SELECT stagger_alter_job('settings_a', max_retries => 1000);
SELECT stagger_alter_job('settings_a', timezone => 'Nowhere/Land');
SELECT count(*) AS settings_b_rows FROM job_stagger.jobs WHERE job_name = 'settings_b';
SELECT max_retries, retry_delay, timezone, history_limit FROM job_stagger.jobs WHERE jobid = :a_id;

-- a direct write goes through the same checks
INSERT INTO job_stagger.jobs (job_name, schedule, command, timezone) VALUES ('settings_c', '0 0 1 1 *', 'SELECT 1', 'Bad/Zone');
INSERT INTO job_stagger.jobs (job_name, schedule, command, history_limit) VALUES ('settings_c', '0 0 1 1 *', 'SELECT 1', 0);
INSERT INTO job_stagger.jobs (job_name, schedule, command, max_retries) VALUES ('settings_c', '0 0 1 1 *', 'SELECT 1', NULL);
UPDATE job_stagger.jobs SET retry_delay = '2 days' WHERE jobid = :a_id;
-- and a plain role may set them on its own jobs
CREATE ROLE settings_plain LOGIN;
SET ROLE settings_plain;
SELECT stagger_schedule('settings_mine', '0 0 1 1 *', 'SELECT 1', max_retries => 2, timezone => 'Europe/Berlin') > 0 AS created;
UPDATE job_stagger.jobs SET history_limit = 10, retry_delay = '5 minutes' WHERE job_name = 'settings_mine';
SELECT job_name, max_retries, retry_delay, timezone, history_limit FROM job_stagger.jobs;
RESET ROLE;
SELECT stagger_unschedule(jobid) FROM job_stagger.jobs WHERE job_name IN ('settings_a', 'settings_mine');
DROP ROLE settings_plain;
