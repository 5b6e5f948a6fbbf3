-- 0002_api_tokens: access tokens of `holdco serve` (issue 12), as in the SQLite store's 0004.
--
-- A token is shown once when created and never stored: only a random salt and the argon2id
-- hash of its secret are kept. `id` is the public part of the token text
-- (`hc1.ID.SECRET`), so a request finds its row without trying every hash. A revoked token
-- keeps its row (and its name) with `revoked_at` set, for `holdco token list`. Every
-- `holdco serve` on the schema reads the row on each request, so a revocation made by any
-- of them (or by `holdco token revoke`) counts at once everywhere.
CREATE TABLE api_tokens (
    id         text   PRIMARY KEY,
    name       text   NOT NULL UNIQUE,
    role       text   NOT NULL CHECK (role IN ('viewer', 'analyst', 'approver', 'admin')),
    -- JSON array of unit ids; empty for a token that sees the whole group.
    scopes     text   NOT NULL,
    salt       bytea  NOT NULL,
    hash       bytea  NOT NULL,
    created_at bigint NOT NULL,
    revoked_at bigint
);
