-- What a person allowed a third-party client (one registered with
-- `--consent`) to learn: the scopes, space-separated. A request within
-- them skips the consent page; "取消授权" in the user centre deletes the
-- row and revokes the client's grants.
CREATE TABLE oidc_consents (
    user_id BIGINT NOT NULL REFERENCES users (id),
    client_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, client_id)
);
