-- Who a message was sent as, and what it carried: the sending domain (the unit of domain
-- reputation and of sender pauses) and the MIME types of its attachments (an input of the
-- anomaly model: a sudden shift to executables or archives is a classic account takeover).
ALTER TABLE messages ADD COLUMN IF NOT EXISTS sending_domain text;
ALTER TABLE messages ADD COLUMN IF NOT EXISTS attachment_types text[] NOT NULL DEFAULT '{}';
CREATE INDEX IF NOT EXISTS messages_sending_domain ON messages (sending_domain, created_at);
