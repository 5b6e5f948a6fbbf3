-- 0005_changesets: change sets, their review, and the audit trail (issue 12).
--
-- A change set's body is JSON the store does not interpret (the holdco-changeset crate's
-- Patch). Its state moves draft -> submitted -> approved -> applied, or to rejected or
-- withdrawn; every move is a row of changeset_transitions. An applied change set has one
-- audit_log row, written in the same transaction as the import that applied it; the
-- import's id is the revision it made.
CREATE TABLE changesets (
    id               INTEGER PRIMARY KEY,
    state            TEXT    NOT NULL CHECK (state IN ('draft', 'submitted', 'approved', 'applied', 'rejected', 'withdrawn')),
    author           TEXT    NOT NULL,
    message          TEXT    NOT NULL CHECK (length(message) > 0),
    base_revision    INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,              -- seconds since the Unix epoch, UTC
    kind             TEXT    NOT NULL,              -- patch, import or revert
    body             TEXT    NOT NULL,              -- JSON
    units            TEXT    NOT NULL,              -- JSON array of unit ids touched
    reverts          INTEGER REFERENCES changesets (id),
    applied_revision INTEGER REFERENCES imports (id)
);

CREATE TABLE changeset_transitions (
    changeset_id INTEGER NOT NULL REFERENCES changesets (id),
    sequence     INTEGER NOT NULL,
    from_state   TEXT,                              -- NULL for the row that records the change set
    to_state     TEXT    NOT NULL,
    actor        TEXT    NOT NULL,
    at           INTEGER NOT NULL,
    note         TEXT,
    PRIMARY KEY (changeset_id, sequence)
);

CREATE TABLE audit_log (
    revision      INTEGER PRIMARY KEY REFERENCES imports (id),
    base_revision INTEGER NOT NULL,
    changeset_id  INTEGER NOT NULL UNIQUE REFERENCES changesets (id),
    actor         TEXT    NOT NULL,
    at            INTEGER NOT NULL,
    diff          TEXT    NOT NULL,                 -- JSON
    units         TEXT    NOT NULL                  -- JSON array of unit ids touched
);
