-- Region cell: the cold-storage archive index. Event partitions past the hot retention are
-- exported to Parquet in the archive store (compliance/archive), verified, then dropped;
-- one row per archived daily partition says where its object is and how it was checked.
CREATE TABLE IF NOT EXISTS event_archive (
    partition_name    text PRIMARY KEY,          -- email_events_pYYYYMMDD
    day               date NOT NULL UNIQUE,
    url               text NOT NULL,             -- the Parquet object (file:// or s3://)
    object_key        text NOT NULL,             -- its path inside the store
    rows              bigint NOT NULL,           -- count(*) of the partition = Parquet footer
    sealed_rows       bigint NOT NULL,           -- rows whose personal payload is encrypted
    sha256            text NOT NULL,             -- of the object as re-read from the store
    content_checksum  text NOT NULL,             -- same in PostgreSQL and from the Parquet rows
    archived_at       timestamptz NOT NULL DEFAULT now(),
    dropped_at        timestamptz                -- null: verified, partition still attached
);

-- Which data subjects have rows in which archived partition, by subject hash (SHA-256 of
-- the address's blind index, as in erasures; never the contact id). An erasure or data
-- expiration stamps shredded_at: the subject's data key is destroyed, so those archived
-- payloads can no longer be decrypted.
CREATE TABLE IF NOT EXISTS event_archive_subjects (
    partition_name  text NOT NULL REFERENCES event_archive (partition_name) ON DELETE CASCADE,
    org_id          uuid NOT NULL,
    subject_hash    bytea NOT NULL,
    rows            bigint NOT NULL,
    shredded_at     timestamptz,
    PRIMARY KEY (partition_name, org_id, subject_hash)
);
CREATE INDEX IF NOT EXISTS event_archive_subjects_subject
    ON event_archive_subjects (org_id, subject_hash);
