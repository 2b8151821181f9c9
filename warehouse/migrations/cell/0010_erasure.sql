-- Region cell: the right to be forgotten. Two records that are deliberately not linked to
-- each other, so the pseudonymous rows an erasure keeps cannot be tied back to the address.

-- One row per erasure request carried out in this cell: what was asked, by whom, when and
-- what was removed. subject_hash is SHA-256 of the address's blind index (never the
-- address); it makes a repeated request answer "already erased" with the first certificate.
CREATE TABLE IF NOT EXISTS erasures (
    erasure_id            uuid NOT NULL,
    org_id                uuid NOT NULL,
    subject_hash          bytea NOT NULL,
    requested_by          text NOT NULL,
    erased_at             timestamptz NOT NULL DEFAULT now(),
    contacts              integer NOT NULL,
    removed               jsonb NOT NULL DEFAULT '{}'::jsonb,
    certificate_audit_id  bigint NOT NULL,
    PRIMARY KEY (erasure_id, org_id)
);
CREATE INDEX IF NOT EXISTS erasures_subject ON erasures (org_id, subject_hash);

-- One row per erased contact: the random pseudonym its kept rows (messages, consent
-- evidence, the tombstone contact) now carry. Model training reads it to leave those rows
-- out; the rows the marts held for the contact (training_rows, per mart) say whether models
-- trained before erased_on saw the subject, and so which MLflow runs to retrain.
CREATE TABLE IF NOT EXISTS erased_subjects (
    pseudonym      uuid PRIMARY KEY,
    org_id         uuid NOT NULL,
    erased_on      date NOT NULL DEFAULT current_date,
    training_rows  jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX IF NOT EXISTS erased_subjects_org ON erased_subjects (org_id, erased_on);
