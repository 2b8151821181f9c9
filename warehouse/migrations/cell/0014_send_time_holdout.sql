-- Which treatment a campaign's holdout group got. not_sent: nothing (the campaign's own
-- uplift is measured against it); sent_unoptimized: the message went out at once, at the
-- campaign's unoptimized time, so an "optimal" campaign's holdout is the control arm that
-- send-time optimization's uplift is measured against.
ALTER TABLE campaign_holdouts ADD COLUMN IF NOT EXISTS arm text NOT NULL DEFAULT 'not_sent';

DO $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_constraint
        WHERE conname = 'campaign_holdouts_arm_check'
          AND conrelid = 'campaign_holdouts'::regclass
    ) THEN
        ALTER TABLE campaign_holdouts ADD CONSTRAINT campaign_holdouts_arm_check
            CHECK (arm IN ('not_sent', 'sent_unoptimized'));
    END IF;
END $$;
