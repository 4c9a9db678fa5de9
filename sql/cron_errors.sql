-- Malformed schedules: every one gets a clear error naming the field and the
-- reason, never a crash or a hang. What pg_cron accepts is accepted (same fire
-- times), but never silently: text pg_cron ignores, and a schedule that never
-- fires, each get a NOTICE.
SET timezone = 'UTC';
SET datestyle = 'ISO';
\set VERBOSITY default
SELECT stagger_next_runs('61 * * * *');
SELECT stagger_describe('');
SELECT stagger_next_runs('* * * * * * *');
SELECT stagger_next_runs('*/0 * * * *');
SELECT stagger_next_runs('5-1 * * * *');
SELECT job_stagger.check_schedule('1.5 * * * *');
SELECT job_stagger.check_schedule('*/5x * * * 1-5,sat!');
SELECT job_stagger.check_schedule('*x 0 * * 1-5!');
SELECT job_stagger.check_schedule('@daily at noon');
SELECT stagger_next_runs('* * * * *', now(), -1);
SELECT stagger_next_runs('* * * * *', 'infinity', 1);

-- the same rules, one line each
\set VERBOSITY terse
SELECT s AS schedule, (job_stagger.schedule_info(s)).error FROM (VALUES
  (''), ('   '), (E'\t'), ('*'), ('* * * *'), ('* * * * * * *'),
  ('60 * * * *'), ('-1 * * * *'), ('* 24 * * *'), ('* * 0 * *'), ('* * 32 * *'), ('* * * 0 *'), ('* * * 13 *'),
  ('* * * * 8'), ('60 * * * * *'), ('99999999999999999999 * * * *'),
  ('*/0 * * * *'), ('*/60 * * * *'), ('1-5/0 * * * *'), ('5-1 * * * *'), ('* 23-1 * * *'),
  ('1.5 * * * *'), ('1,,2 * * * *'), ('a * * * *'), ('* jan * * *'), ('* * * * funday'), ('* * * foo *'),
  ('* $ * * *'), ('@often'), ('@daily 1'), ('0 seconds'), ('60 seconds'), ('-5 seconds'), ('5 minutes'),
  ('* * * * mon-'), ('1- * * * *'), ('*/ * * * *'), ('*/5/2 * * * *'), ('1-2-3 * * * *'), ('5/10 * * * *'), ('@HOURLY')
) v(s);
