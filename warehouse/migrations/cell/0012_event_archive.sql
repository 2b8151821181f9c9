-- Region cell: the cold-storage archive index. Event partitions past the hot retention are
-- exported to Parquet in the archive store (compliance/archive), verified, then dropped;
-- one row per archived object says which partition it holds, where it is and how it was
-- checked. A day has more than one object when late events re-created its partition
-- after it had been archived.
CREATE TABLE IF NOT EXISTS event_archive (
    archive_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    partition_name    text NOT NULL,             -- email_events_pYYYYMMDD
    day               date NOT NULL,
    url               text NOT NULL UNIQUE,      -- the Parquet object (file:// or s3://)
    object_key        text NOT NULL,             -- its path inside the store
    rows              bigint NOT NULL,           -- count(*) of the partition = Parquet footer
    sealed_rows       bigint NOT NULL,           -- rows whose personal payload is encrypted
    sha256            text NOT NULL,             -- of the object as re-read from the store
    content_checksum  text NOT NULL,             -- same in PostgreSQL and from the Parquet rows
    archived_at       timestamptz NOT NULL DEFAULT now(),
    dropped_at        timestamptz                -- when the partition was dropped
);
CREATE INDEX IF NOT EXISTS event_archive_day ON event_archive (day);

-- Which data subjects have rows in which archived object, by subject hash (SHA-256 of the
-- address's blind index, as in erasures; never the contact id). An erasure or data
-- expiration stamps shredded_at: the subject's data key is destroyed, so those archived
-- payloads can no longer be decrypted.
CREATE TABLE IF NOT EXISTS event_archive_subjects (
    archive_id    bigint NOT NULL REFERENCES event_archive (archive_id) ON DELETE CASCADE,
    org_id        uuid NOT NULL,
    subject_hash  bytea NOT NULL,
    rows          bigint NOT NULL,
    shredded_at   timestamptz,
    PRIMARY KEY (archive_id, org_id, subject_hash)
);
CREATE INDEX IF NOT EXISTS event_archive_subjects_subject
    ON event_archive_subjects (org_id, subject_hash);
