-- What a person accepted: the privacy policy ('privacy') or the terms
-- ('terms'), in which version, when and from where. PIPL art. 69 presumes
-- the processor at fault: these rows are how it proves consent. A new
-- version of a text is accepted with a new row; none is ever changed.
CREATE TABLE legal_acceptances (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL,
    version TEXT NOT NULL,
    accepted_at BIGINT NOT NULL,
    client_ip TEXT NOT NULL,
    user_agent TEXT NOT NULL
);
CREATE INDEX legal_acceptances_user ON legal_acceptances (user_id, kind, accepted_at);
