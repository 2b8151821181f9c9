-- API authentication and the role hierarchy Org Owner > Campaign Manager > Analyst.
-- Each API key carries the P-521 public key its requests are signed with.
ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS public_key text;

ALTER TABLE users DROP CONSTRAINT IF EXISTS users_role_check;
UPDATE users SET role = CASE role
    WHEN 'admin' THEN 'owner'
    WHEN 'marketer' THEN 'campaign_manager'
    WHEN 'developer' THEN 'campaign_manager'
    ELSE role END;
ALTER TABLE users ADD CONSTRAINT users_role_check
    CHECK (role IN ('owner', 'campaign_manager', 'analyst'));

ALTER TABLE api_keys DROP CONSTRAINT IF EXISTS api_keys_role_check;
UPDATE api_keys SET role = CASE role
    WHEN 'admin' THEN 'owner'
    WHEN 'marketer' THEN 'campaign_manager'
    WHEN 'developer' THEN 'campaign_manager'
    WHEN 'sender' THEN 'campaign_manager'
    ELSE role END;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_role_check
    CHECK (role IN ('owner', 'campaign_manager', 'analyst'));
