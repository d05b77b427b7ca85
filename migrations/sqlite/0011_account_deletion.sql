-- 注销 (account deletion). A person's request waits in `delete_after`
-- (Unix ms) for its cooling-off period; when the date comes the worker
-- erases the account: its rows go, not a flag.
ALTER TABLE users ADD COLUMN delete_after BIGINT;
CREATE INDEX users_delete_after ON users (delete_after) WHERE delete_after IS NOT NULL;

-- The account a message was for, while the account exists: its owner's
-- export lists them, and its erasure deletes them. (None for a code sent
-- to a number with no account yet.)
ALTER TABLE deliveries ADD COLUMN user_id BIGINT;
CREATE INDEX deliveries_user ON deliveries (user_id) WHERE user_id IS NOT NULL;

-- What stays of an erased account: its id and the subject other sites knew
-- it by, so that neither is ever given to anyone else. No personal data.
CREATE TABLE erased_accounts (
    id BIGINT PRIMARY KEY,
    oidc_subject TEXT UNIQUE,
    erased_at BIGINT NOT NULL
);
