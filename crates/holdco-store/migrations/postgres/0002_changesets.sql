-- 0002_changesets: change sets, their review, and the audit trail (issue 12); the same
-- tables as the SQLite store's migration 0005.
--
-- A change set's body is JSON the store does not interpret (the holdco-changeset crate's
-- Patch). Its state moves draft -> submitted -> approved -> applied, or to rejected or
-- withdrawn; every move is a row of changeset_transitions. An applied change set has one
-- audit_log row, written in the same transaction as the import that applied it; the
-- import's id is the revision it made.
CREATE TABLE changesets (
    id               bigint  PRIMARY KEY,
    state            text    NOT NULL CHECK (state IN ('draft', 'submitted', 'approved', 'applied', 'rejected', 'withdrawn')),
    author           text    NOT NULL,
    message          text    NOT NULL CHECK (length(message) > 0),
    base_revision    bigint  NOT NULL,
    created_at       bigint  NOT NULL,              -- seconds since the Unix epoch, UTC
    kind             text    NOT NULL,              -- patch, import or revert
    body             text    NOT NULL,              -- JSON
    units            text    NOT NULL,              -- JSON array of unit ids touched
    reverts          bigint  REFERENCES changesets (id),
    applied_revision bigint  REFERENCES imports (id)
);

CREATE TABLE changeset_transitions (
    changeset_id bigint  NOT NULL REFERENCES changesets (id),
    sequence     integer NOT NULL,
    from_state   text,                              -- NULL for the row that records the change set
    to_state     text    NOT NULL,
    actor        text    NOT NULL,
    at           bigint  NOT NULL,
    note         text,
    PRIMARY KEY (changeset_id, sequence)
);

CREATE TABLE audit_log (
    revision      bigint PRIMARY KEY REFERENCES imports (id),
    base_revision bigint NOT NULL,
    changeset_id  bigint NOT NULL UNIQUE REFERENCES changesets (id),
    actor         text   NOT NULL,
    at            bigint NOT NULL,
    diff          text   NOT NULL,                  -- JSON
    units         text   NOT NULL                   -- JSON array of unit ids touched
);
