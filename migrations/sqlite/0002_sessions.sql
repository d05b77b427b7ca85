ALTER TABLE users ADD COLUMN email_verified BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN avatar TEXT;

-- One row per sign-in. The session token names its row; a token whose row
-- has ended (or expired) is refused even while its signature is good.
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    ended_at BIGINT,
    client_ip TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    remember BOOLEAN NOT NULL
);
CREATE INDEX sessions_user_id ON sessions (user_id);

-- Sign-in attempts on known accounts: the user centre shows the last ones.
CREATE TABLE login_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    client_ip TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    method TEXT NOT NULL,
    outcome TEXT NOT NULL
);
CREATE INDEX login_attempts_user_id ON login_attempts (user_id, created_at);
