-- Refresh tokens (scope offline_access), kept as their SHA-256. Each use
-- gives a new one and marks the old used; a used one presented again
-- revokes its grant, and with it every token of that family.
CREATE TABLE oidc_refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    grant_id TEXT NOT NULL REFERENCES oidc_grants (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX oidc_refresh_tokens_grant ON oidc_refresh_tokens (grant_id);
