-- Trust: long C++ work obeys statement_timeout (pg_cancel_backend from
-- another session is in test/t/010_cancel_settings.pl), and settings that
-- cannot work are rejected with what would.
SET timezone = 'UTC';

-- stagger_next_runs with a huge n: bounded memory (a few thousand instants per
-- trip into C++) and cancellable between trips. The whole call takes seconds.
SET statement_timeout = '300ms';
SELECT count(*) FROM stagger_next_runs('* * * * * *', '2026-01-01 00:00+00', 31000000);
RESET statement_timeout;
SELECT count(*) FROM stagger_next_runs('* * * * * *', '2026-01-01 00:00+00', 10000);

-- 1000 jobs firing every second of each Feb 29 (never during the test): every
-- pair collides, so analysing them takes seconds. Inserted in one statement
-- without the NOTICE trigger, which would analyse them too.
ALTER TABLE job_stagger.jobs DISABLE TRIGGER jobs_collisions_insert;
INSERT INTO job_stagger.jobs (job_name, schedule, command, offset_seconds)
SELECT 'leap_' || g, '* * * 29 2 *', 'SELECT 1', 0 FROM generate_series(1, 1000) g;
ALTER TABLE job_stagger.jobs ENABLE TRIGGER jobs_collisions_insert;

SET statement_timeout = '300ms';
SELECT count(*) FROM stagger_collisions();
SELECT valid FROM stagger_validate();
SELECT length(stagger_summary()) > 0;
SELECT count(*) FROM job_stagger.collision_report(ARRAY(SELECT jobid FROM job_stagger.jobs));
-- the session is fine afterwards, and short work still completes
RESET statement_timeout;
SELECT job_stagger.spread_offset('*/5 * * * *', 0) BETWEEN 0 AND 59 AS spread_ok;
SELECT count(*) FROM job_stagger.collision_report(ARRAY(SELECT jobid FROM job_stagger.jobs ORDER BY jobid LIMIT 3));
DELETE FROM job_stagger.jobs WHERE job_name LIKE 'leap\_%';
SELECT count(*) FROM stagger_collisions();

-- Settings. PGC_SIGHUP ones are validated by ALTER SYSTEM (and at reload).
-- The critical pool threshold may not be below the warning one (80 / 90 now).
ALTER SYSTEM SET job_stagger.pool_crit_pct = 70;
ALTER SYSTEM SET job_stagger.pool_warn_pct = 95;
ALTER SYSTEM SET job_stagger.pool_crit_pct = 80;
ALTER SYSTEM SET job_stagger.pool_warn_pct = 90;
ALTER SYSTEM RESET job_stagger.pool_crit_pct;
ALTER SYSTEM RESET job_stagger.pool_warn_pct;
-- history must be kept at least as long as a KPI snapshot looks back (0 = off / forever)
ALTER SYSTEM SET job_stagger.history_retention = '1h';
ALTER SYSTEM SET job_stagger.kpi_interval = '20d';
ALTER SYSTEM SET job_stagger.history_retention = '6h';
ALTER SYSTEM SET job_stagger.history_retention = 0;
ALTER SYSTEM SET job_stagger.kpi_interval = 0;
ALTER SYSTEM RESET job_stagger.history_retention;
ALTER SYSTEM RESET job_stagger.kpi_interval;
-- the metadata database must be a possible database name (takes effect at restart)
ALTER SYSTEM SET job_stagger.database_name = '';
ALTER SYSTEM SET job_stagger.database_name = 'a_database_name_that_is_longer_than_the_sixty_three_bytes_allowed';
ALTER SYSTEM SET job_stagger.database_name = 'a_database_name_of_exactly_sixty_three_bytes_is_still_accepted_';
ALTER SYSTEM RESET job_stagger.database_name;
-- ranges and zones
ALTER SYSTEM SET job_stagger.max_running_jobs = 0;
ALTER SYSTEM SET job_stagger.prestart_lead_ms = '11s';
ALTER SYSTEM SET job_stagger.catchup_window = '2d';
ALTER SYSTEM SET job_stagger.pool_sample_interval = 0;
ALTER SYSTEM SET job_stagger.timezone = 'Mars/Olympus_Mons';
-- superuser SET previews are checked the same way
SET job_stagger.timezone = 'Europe/Atlantis';
SET job_stagger.timezone = 'Europe/Berlin';
RESET job_stagger.timezone;
-- reload-only parameters cannot be SET in a session
SET job_stagger.pool_warn_pct = 10;
-- job_stagger.offsets keeps its documented behaviour: accepted, each bad entry
-- is ignored with a WARNING where it is used (see stagger_offsets)
SET job_stagger.offsets = 'leap_1=99, no_equals';
RESET job_stagger.offsets;
