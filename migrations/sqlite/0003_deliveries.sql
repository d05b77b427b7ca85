-- One row per message handed to the delivery queue: what became of it.
-- Never the code: the message itself travels in the queue's job.
CREATE TABLE deliveries (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    provider TEXT NOT NULL,
    recipient TEXT NOT NULL,
    purpose TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_try_at BIGINT,
    lease_until BIGINT,
    last_error TEXT,
    provider_message_id TEXT,
    task_id TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    expires_at BIGINT
);
CREATE INDEX deliveries_state ON deliveries (state, created_at);
CREATE INDEX deliveries_created ON deliveries (created_at);

-- Development only: what the outbox sender "sent" and the captcha answers
-- issued, shared by every server on this database.
CREATE TABLE dev_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    recipient TEXT NOT NULL,
    text TEXT NOT NULL,
    code TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
