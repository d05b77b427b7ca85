-- OpenID Connect: the signing keys (one per algorithm and generation,
-- shared by every server; `kid` is the key's RFC 7638 thumbprint; the
-- private key is PKCS#8 DER in base64) and the registered clients.
CREATE TABLE oidc_keys (
    kid TEXT PRIMARY KEY,
    alg TEXT NOT NULL,
    generation BIGINT NOT NULL,
    private_key TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    retired_at BIGINT,
    UNIQUE (generation, alg)
);

-- A client's secret is kept only as its SHA-256 (it is 256 random bits);
-- a public client has none. URIs are JSON arrays of exact strings.
CREATE TABLE oidc_clients (
    client_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    secret_hash TEXT,
    redirect_uris TEXT NOT NULL,
    post_logout_redirect_uris TEXT NOT NULL,
    consent BOOLEAN NOT NULL,
    enabled BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
