-- How a session was signed in ('password', 'sms', 'register'): the `amr`
-- an ID token names.
ALTER TABLE sessions ADD COLUMN method TEXT NOT NULL DEFAULT 'password';

-- The subject OpenID Connect clients know an account by: random, made on
-- first need, never the mobile or the username, never another account's.
ALTER TABLE users ADD COLUMN oidc_subject TEXT;
CREATE UNIQUE INDEX users_oidc_subject ON users (oidc_subject);

-- One authorization of a client by a person, in one session, and the code
-- that carries it to the client (kept as its SHA-256; used once, within
-- its minute). A second use of the code revokes the grant: whatever the
-- first use was given stops working.
CREATE TABLE oidc_grants (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users (id),
    session_id TEXT NOT NULL REFERENCES sessions (id),
    scope TEXT NOT NULL,
    nonce TEXT,
    redirect_uri TEXT NOT NULL,
    code_hash TEXT NOT NULL UNIQUE,
    code_challenge TEXT,
    code_expires_at BIGINT NOT NULL,
    code_used_at BIGINT,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX oidc_grants_session ON oidc_grants (session_id);
CREATE INDEX oidc_grants_user ON oidc_grants (user_id, client_id);
