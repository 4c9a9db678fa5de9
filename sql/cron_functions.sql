-- The cron engine through SQL: stagger_next_runs and stagger_describe.
SET timezone = 'UTC';
SET datestyle = 'ISO';
CREATE EXTENSION job_stagger;

-- callable unqualified, whatever the search_path
SET search_path = nowhere;
SELECT stagger_describe('*/5 * * * *');
RESET search_path;

-- 5-field schedules fire at second 0, strictly after the given instant
SELECT * FROM stagger_next_runs('*/5 * * * *', '2026-03-01 10:02:30+00', 3);
SELECT * FROM stagger_next_runs('*/5 * * * *', '2026-03-01 10:05:00+00', 2);
-- 6-field: leading seconds field
SELECT * FROM stagger_next_runs('15 */5 * * * *', '2026-03-01 10:02:30+00', 3);
SELECT * FROM stagger_next_runs('*/20 * * * * *', '2026-03-01 10:00:05+00', 4);
-- names, ranges, steps, 7 = Sunday, $ = last day of month
SELECT * FROM stagger_next_runs('0 9 * * MON-fri', '2026-03-06 12:00+00', 3);
SELECT * FROM stagger_next_runs('0 0 * * 7', '2026-03-01 12:00+00', 2);
SELECT * FROM stagger_next_runs('0 0 $ * *', '2027-01-15+00', 3);
SELECT * FROM stagger_next_runs('0 0 29 feb *', '2026-03-01+00', 2);
-- day-of-month and day-of-week both restricted: either matches (vixie cron)
SELECT * FROM stagger_next_runs('0 0 13 * fri', '2026-03-01+00', 4);
-- a day field starting with * counts as unrestricted: both must match
SELECT * FROM stagger_next_runs('0 0 */2 * fri', '2026-03-01+00', 3);
-- macros
SELECT m, (SELECT min(t) FROM stagger_next_runs(m, '2026-03-01 10:02:30+00', 1) t)
  FROM unnest(ARRAY['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly']) m;
-- @reboot runs once at scheduler start: no fire times
SELECT count(*) FROM stagger_next_runs('@reboot', '2026-03-01+00', 5);
-- 'N seconds': fixed phase, fires when the Unix epoch is a multiple of N
SELECT * FROM stagger_next_runs('30 seconds', '2026-03-01 10:00:10+00', 3);
SELECT * FROM stagger_next_runs('7 seconds', '2026-03-01 10:00:00+00', 3);
SELECT extract(epoch FROM t)::bigint % 7 AS phase FROM stagger_next_runs('7 seconds', now(), 3) t;
-- fractional instants: strictly after
SELECT * FROM stagger_next_runs('* * * * * *', '2026-03-01 10:00:00.5+00', 2);
-- n = 0 and defaults
SELECT count(*) FROM stagger_next_runs('* * * * *', now(), 0);
SELECT count(*) FROM stagger_next_runs('* * * * *');
SELECT bool_and(t > now()) FROM stagger_next_runs('* * * * * *') t;

-- a valid schedule that never fires: a NOTICE and no rows, immediately
SELECT * FROM stagger_next_runs('0 0 30 2 *', '2026-01-01+00', 3);

-- time zone of job_stagger.timezone; DST: a fixed-time job in the spring gap
-- runs once right after the gap, in the fall-back hour once
SET job_stagger.timezone = 'America/New_York';
SELECT t, t AT TIME ZONE 'America/New_York' AS local
  FROM stagger_next_runs('30 2 * * *', '2026-03-07 12:00+00', 3) t;
SELECT t, t AT TIME ZONE 'America/New_York' AS local
  FROM stagger_next_runs('30 1 * * *', '2026-10-31 12:00+00', 3) t;
-- an elapsed-time job keeps its cadence through the repeated hour
SELECT t, t AT TIME ZONE 'America/New_York' AS local
  FROM stagger_next_runs('*/30 * * * *', '2026-11-01 04:40+00', 5) t;
SET job_stagger.timezone = 'Europe/Berlin';
SELECT * FROM stagger_next_runs('0 3 * * *', '2026-06-01 00:00+00', 1);
RESET job_stagger.timezone;
SELECT current_setting('job_stagger.timezone');
SET job_stagger.timezone = 'Mars/Olympus';

-- descriptions
SELECT s, stagger_describe(s) FROM unnest(ARRAY[
  '15 */5 * * * *', '* * * * *', '*/5 * * * *', '0 3 * * *', '30 2 * * 1-5', '0 * * * *', '@reboot',
  '10 seconds', '* * * * * *', '0 0 1 * *', '0 0 $ * *', '0 12 * jan,jul *', '0 0 1 * mon', '@daily']) s;

-- parse details without raising (used by the job API)
SELECT s, (job_stagger.schedule_info(s)).* FROM unnest(ARRAY[
  '*/5 * * * *', '15 */5 * * * *', '@hourly', '5 seconds', '@reboot', '0 0 30 2 *', '61 * * * *']) s;
