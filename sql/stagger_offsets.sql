-- Offsets and effective schedules: stagger_set_offset, stagger_offset,
-- stagger_apply_cron and the job_stagger.offsets overrides. Jobs are inactive
-- so nothing runs; SET previews the server-wide settings in this session.
SET timezone = 'UTC';
SET datestyle = 'ISO';
\set VERBOSITY terse
SELECT stagger_schedule(j, s, 'SELECT 1', o, active => false) > 0 AS created
  FROM (VALUES ('every_minute', '* * * * *', 15), ('every_5', '*/5 * * * *', 25), ('every_10', '*/10 * * * *', 40),
               ('at_zero', '* * * * *', 0), ('six_field', '10 * * * * *', 30), ('hourly', '@hourly', 5),
               ('ticker', '5 seconds', 20)) v(j, s, o);

-- disabled (the default): every job at second 0, crons unchanged
SHOW job_stagger.enabled;
SELECT stagger_offset('every_minute') AS offset_when_disabled, stagger_apply_cron('every_minute', '* * * * *') AS cron;

-- enabled: a 5-field cron becomes 6-field with the offset as seconds field
SET job_stagger.enabled = on;
SELECT j AS job, c AS cron, stagger_offset(j) AS offset, stagger_apply_cron(j, c) AS effective FROM (VALUES
  ('every_minute', '* * * * *'), ('every_5', '*/5 * * * *'), ('every_10', '*/10 * * * *'),
  ('at_zero', '* * * * *'),           -- offset 0: unchanged
  ('six_field', '10 * * * * *'),      -- already 6 fields: unchanged
  ('hourly', '@hourly'),              -- macro: expanded
  ('ticker', '5 seconds'),            -- interval: unchanged
  ('no_such_job', '* * * * *'),       -- unknown job: unchanged, offset 0
  ('every_minute', '61 * * * *'),     -- invalid cron: unchanged
  ('every_minute', 'nonsense')) v(j, c);

-- the effective schedule fires at the offset second
SELECT * FROM stagger_next_runs(stagger_apply_cron('every_5', '*/5 * * * *'), '2026-03-01 10:02:30+00', 2);

-- set offsets: boundaries 0 and 59 accepted, anything else rejected
SELECT stagger_set_offset('every_10', 0);
SELECT stagger_offset('every_10');
SELECT stagger_set_offset('every_10', 59);
SELECT stagger_apply_cron('every_10', '*/10 * * * *');
SELECT stagger_set_offset('every_10', 60);
SELECT stagger_set_offset('every_10', -1);
SELECT stagger_set_offset('no_such_job', 5);
SELECT stagger_schedule('every_10', '*/10 * * * *', 'SELECT 1', 75);
SELECT offset_seconds FROM job_stagger.jobs WHERE job_name = 'every_10';
-- NULL unpins the job and places it again (0.6; an error before)
SELECT stagger_set_offset('every_10', NULL);
SELECT offset_seconds, offset_pinned FROM job_stagger.jobs WHERE job_name = 'every_10';

-- overrides from job_stagger.offsets win over the table, without writing it
SET job_stagger.offsets = 'every_minute=45, every_5 = 0';
SELECT stagger_offset('every_minute'), stagger_apply_cron('every_minute', '* * * * *'), stagger_offset('every_5');
SELECT offset_seconds FROM job_stagger.jobs WHERE job_name = 'every_minute';
-- invalid entries: a WARNING each, the job keeps its table offset, valid entries still apply
SET job_stagger.offsets = 'every_minute=abc';
SELECT stagger_offset('every_minute');
SET job_stagger.offsets = 'every_minute=-1';
SELECT stagger_offset('every_minute');
SET job_stagger.offsets = 'every_minute=60, every_5=7';
SELECT stagger_offset('every_minute'), stagger_offset('every_5');
SET job_stagger.offsets = 'every_minute:3, =4, every_5=8, every_5=9,,';
SELECT stagger_offset('every_minute'), stagger_offset('every_5');
SET job_stagger.offsets = 'every_minute=0, every_10=59';
SELECT stagger_offset('every_minute'), stagger_offset('every_10');
SELECT * FROM job_stagger.offset_overrides();
RESET job_stagger.offsets;

-- disabled again: offsets do not apply
SET job_stagger.enabled = off;
SELECT stagger_offset('every_5'), stagger_apply_cron('every_5', '*/5 * * * *');
RESET job_stagger.enabled;

DELETE FROM job_stagger.jobs;
