-- Recovery and e-mail binding. Links are kept only as the SHA-256 of their
-- token; `users.email` holds a verified address only (an address waiting
-- for its link lives in `email_verifications`), so the unique index on
-- lower(email) is the rule "unique among verified addresses".

-- Every change of the password (any path) bumps the version; a reset link
-- names the version it may replace, so a change kills every older link.
ALTER TABLE users ADD COLUMN password_version BIGINT NOT NULL DEFAULT 0;
UPDATE users SET email = NULL WHERE email_verified = FALSE;

CREATE TABLE email_verifications (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    email TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX email_verifications_user ON email_verifications (user_id, created_at);

CREATE TABLE password_resets (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    password_version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX password_resets_user ON password_resets (user_id);
