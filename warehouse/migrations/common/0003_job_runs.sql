-- Runs of the scheduled jobs that auditors ask about (retention, archiving, controls):
-- one row per run and database, so "did it run?" is a query, not a search through logs.
CREATE TABLE IF NOT EXISTS job_runs (
    run_id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job          text NOT NULL,
    finished_at  timestamptz NOT NULL DEFAULT now(),
    rows_done    bigint NOT NULL DEFAULT 0,
    details      jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX IF NOT EXISTS job_runs_job_time ON job_runs (job, finished_at DESC);
