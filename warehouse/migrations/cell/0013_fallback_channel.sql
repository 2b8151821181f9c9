-- Fallback channel: a message whose email delivery was exhausted may still reach its
-- recipient through a gateway (an SMS carrying a secure link to the message as a PDF) when
-- its campaign opted in.
-- delivered_channel: which channel delivered a delivered message ('email', or the gateway's
-- channel such as 'sms'); NULL for every other state.
ALTER TABLE messages ADD COLUMN IF NOT EXISTS delivered_channel text;

-- The recipient's phone number, sealed like the address (AES-256-GCM under the contact's
-- data key, associated data naming the contact and the field): erasing the contact's key
-- shreds it with the rest.
ALTER TABLE contacts ADD COLUMN IF NOT EXISTS phone_ciphertext bytea;

-- The PDFs secure links serve, sealed under the recipient's data key (so an erasure shreds
-- them too) and kept only until the link expires. No contact column: the message names it.
CREATE TABLE IF NOT EXISTS fallback_documents (
    message_id      uuid PRIMARY KEY,
    org_id          uuid NOT NULL,
    pdf_ciphertext  bytea NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS fallback_documents_expiry ON fallback_documents (expires_at);
