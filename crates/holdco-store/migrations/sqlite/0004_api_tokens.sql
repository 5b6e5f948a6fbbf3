-- 0004_api_tokens: access tokens of `holdco serve` (issue 12).
--
-- A token is shown once when created and never stored: only a random salt and the argon2id
-- hash of its secret are kept. `id` is the public part of the token text
-- (`hc1.ID.SECRET`), so a request finds its row without trying every hash. A revoked token
-- keeps its row (and its name) with `revoked_at` set, for `holdco token list`.
CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('viewer', 'analyst', 'approver', 'admin')),
    -- JSON array of unit ids; empty for a token that sees the whole group.
    scopes TEXT NOT NULL,
    salt BLOB NOT NULL,
    hash BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
