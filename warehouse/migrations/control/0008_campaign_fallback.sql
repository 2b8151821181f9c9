-- A campaign's last resort when email delivery is exhausted (retries and fallback routes
-- failed): the channel of a fallback gateway ('sms'), or NULL for none (the default).
ALTER TABLE campaigns ADD COLUMN IF NOT EXISTS fallback_channel text
    CHECK (fallback_channel IN ('sms'));
