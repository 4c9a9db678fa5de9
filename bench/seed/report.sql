-- Tables and views of bench/seed_scenario.sh (schema seed): what each phase
-- measured, from the product's history (runs), the pgbench log (api) and the
-- script's pg_stat_activity sampler (pool).
SET client_min_messages = warning;
CREATE SCHEMA seed;
CREATE TABLE seed.phases (
    ord     serial,
    phase   text PRIMARY KEY,          -- A, B, D
    sys     text NOT NULL,             -- job_stagger or pg_cron
    label   text NOT NULL,
    w0      timestamptz,               -- measured window [w0, w1): slots due in it
    w1      timestamptz,
    pool    integer NOT NULL           -- SEED_POOL_SIZE
);
-- jobid -> name of each phase's jobs (pg_cron's history keeps only the jobid)
CREATE TABLE seed.jobmap (phase text, jobid bigint, job_name text, grp text);
-- every run (or skip) due in a phase's window, from either system's history
CREATE TABLE seed.runs (
    phase    text NOT NULL,
    job_name text NOT NULL,
    due      timestamptz,
    start_ts timestamptz,
    end_ts   timestamptz,
    status   text,                     -- ran, skipped, failed (not a lock skip)
    raw      text,                     -- the system's own status
    message  text
);
-- the pgbench log (-l with --rate): latency is counted from the scheduled start
CREATE TABLE seed.api_raw (client int, txno bigint, lat_us bigint, script int, epoch bigint, us bigint, lag_us bigint);
CREATE TABLE seed.api (phase text NOT NULL, t timestamptz NOT NULL, lat_ms float8 NOT NULL);
-- the script's sampler: sessions busy in the app's pool, every 250 ms
CREATE TABLE seed.pool (t timestamptz NOT NULL, api integer NOT NULL, jobs integer NOT NULL);

-- Samples pg_stat_activity every 250 ms until `until`, one commit per sample
-- (so every sample sees a fresh snapshot). API sessions: pgbench's
-- (application_name seed_api) not idle; job sessions: a job_stagger job
-- backend or a pg_cron connection running a command.
CREATE PROCEDURE seed.sample_pool(until timestamptz) LANGUAGE plpgsql AS $$
BEGIN
    WHILE clock_timestamp() < until LOOP
        INSERT INTO seed.pool
        SELECT clock_timestamp(),
               count(*) FILTER (WHERE application_name = 'seed_api' AND state IS DISTINCT FROM 'idle'),
               count(*) FILTER (WHERE (backend_type = 'job_stagger job' OR application_name = 'pg_cron')
                                  AND state = 'active')
          FROM pg_stat_activity WHERE pid <> pg_backend_pid();
        COMMIT;
        PERFORM pg_sleep(0.25);
    END LOOP;
END $$;

CREATE FUNCTION seed.r(x float8, d int DEFAULT 2) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN x IS NULL THEN 'n/a' ELSE round(x::numeric, d)::text END $$;
CREATE FUNCTION seed.ratio(a float8, b float8) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN a IS NULL OR b IS NULL THEN 'n/a' WHEN b = 0 AND a = 0 THEN '-' WHEN b = 0 THEN 'inf'
                ELSE round((a / b)::numeric, 2)::text END $$;

-- runs executing at once: sweep over the [start, end] of every run (skips excluded)
CREATE VIEW seed.conc AS
WITH ev AS (
    SELECT phase, start_ts AS t, 1 AS d FROM seed.runs WHERE status <> 'skipped' AND end_ts IS NOT NULL
    UNION ALL
    SELECT phase, end_ts, -1 FROM seed.runs WHERE status <> 'skipped' AND end_ts IS NOT NULL
)
SELECT phase, max(c) AS peak
  FROM (SELECT phase, sum(d) OVER (PARTITION BY phase ORDER BY t, d DESC ROWS UNBOUNDED PRECEDING) AS c FROM ev) x
 GROUP BY phase;

CREATE VIEW seed.summary AS
SELECT p.ord, p.phase, p.sys, p.label, p.pool,
       extract(epoch FROM p.w1 - p.w0) AS window_s,
       coalesce(c.peak, 0) AS peak_conc,
       (SELECT sum(extract(epoch FROM r.end_ts - r.start_ts)) FROM seed.runs r
         WHERE r.phase = p.phase AND r.status <> 'skipped') / extract(epoch FROM p.w1 - p.w0) AS mean_conc,
       (SELECT avg(extract(epoch FROM r.end_ts - r.start_ts)) FROM seed.runs r
         WHERE r.phase = p.phase AND r.status <> 'skipped') AS mean_dur,
       (SELECT count(*) FROM seed.runs r WHERE r.phase = p.phase AND r.status <> 'skipped') AS runs,
       (SELECT count(*) FROM seed.runs r WHERE r.phase = p.phase AND r.status = 'skipped') AS skips,
       (SELECT count(*) FROM seed.runs r WHERE r.phase = p.phase AND r.status = 'failed') AS failed,
       (SELECT 100.0 * max(api + jobs) / p.pool FROM seed.pool s WHERE s.t >= p.w0 AND s.t < p.w1) AS pool_peak,
       (SELECT 100.0 * avg(api + jobs) / p.pool FROM seed.pool s WHERE s.t >= p.w0 AND s.t < p.w1) AS pool_mean,
       (SELECT count(*) FROM seed.api a WHERE a.phase = p.phase) AS api_n,
       (SELECT percentile_cont(0.95) WITHIN GROUP (ORDER BY lat_ms) FROM seed.api a WHERE a.phase = p.phase) AS api_p95,
       (SELECT percentile_cont(0.95) WITHIN GROUP (ORDER BY lat_ms) FROM seed.api a
         WHERE a.phase = p.phase AND extract(second FROM a.t) < 15) AS api_p95_early,
       (SELECT percentile_cont(0.95) WITHIN GROUP (ORDER BY lat_ms) FROM seed.api a
         WHERE a.phase = p.phase AND extract(second FROM a.t) >= 15) AS api_p95_rest,
       (SELECT percentile_cont(0.50) WITHIN GROUP (ORDER BY lat_ms) FROM seed.api a WHERE a.phase = p.phase) AS api_p50
  FROM seed.phases p LEFT JOIN seed.conc c USING (phase);

CREATE VIEW seed.per_job AS
SELECT r.phase, r.job_name,
       count(*) FILTER (WHERE r.status <> 'skipped') AS runs,
       count(*) FILTER (WHERE r.status = 'skipped') AS skips,
       count(*) FILTER (WHERE r.status = 'failed') AS failed,
       avg(extract(epoch FROM r.end_ts - r.start_ts)) FILTER (WHERE r.status <> 'skipped') AS mean_s,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM r.end_ts - r.start_ts))
           FILTER (WHERE r.status <> 'skipped') AS p95_s
  FROM seed.runs r GROUP BY r.phase, r.job_name;

-- runs of the two jobs of one exclusive group that overlap in time
CREATE VIEW seed.group_overlaps AS
SELECT a.phase, m.grp, count(*) AS n_overlaps
  FROM seed.runs a JOIN seed.runs b ON a.phase = b.phase AND a.job_name < b.job_name
  JOIN seed.jobmap m ON m.phase = a.phase AND m.job_name = a.job_name
  JOIN seed.jobmap n ON n.phase = b.phase AND n.job_name = b.job_name AND n.grp = m.grp
 WHERE a.status <> 'skipped' AND b.status <> 'skipped'
   AND a.start_ts < b.end_ts AND b.start_ts < a.end_ts
 GROUP BY a.phase, m.grp;

-- per second of the minute: mean running jobs (time-weighted over the second)
-- and the API p95 of the transactions scheduled in that second
CREATE VIEW seed.by_second AS
WITH secs AS (
    SELECT p.phase, s AS t FROM seed.phases p,
           generate_series(p.w0, p.w1 - interval '1 s', interval '1 s') s
), running AS (
    SELECT s.phase, s.t,
           -- (least/greatest ignore NULLs: a second without runs must not count as 1)
           coalesce(sum(extract(epoch FROM least(r.end_ts, s.t + interval '1 s') - greatest(r.start_ts, s.t)))
                        FILTER (WHERE r.start_ts IS NOT NULL), 0) AS jobs
      FROM secs s LEFT JOIN seed.runs r ON r.phase = s.phase AND r.status <> 'skipped'
                                       AND r.start_ts < s.t + interval '1 s' AND r.end_ts > s.t
     GROUP BY s.phase, s.t
), jobs AS (
    SELECT phase, extract(second FROM t)::int AS sec, avg(jobs) AS jobs FROM running GROUP BY 1, 2
), api AS (
    SELECT phase, floor(extract(second FROM t))::int AS sec,
           percentile_cont(0.95) WITHIN GROUP (ORDER BY lat_ms) AS p95
      FROM seed.api GROUP BY 1, 2
)
SELECT j.phase, j.sec, j.jobs, a.p95 FROM jobs j LEFT JOIN api a USING (phase, sec);
