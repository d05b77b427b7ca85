-- The provider's own code for a delivery's last error (`isv.DAY_LIMIT_CONTROL`,
-- `LimitExceeded.PhoneNumberDailyLimit`, `http_503`, `timeout`...), apart
-- from its text, so that an operator can count failures by cause.
ALTER TABLE deliveries ADD COLUMN error_code TEXT;
