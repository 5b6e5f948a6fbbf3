-- 0001_init: the first schema of a holdco SQLite store.
-- Released migrations are never edited: change the schema by adding 0002_*.sql and so on.
-- The migration runner records applied versions in schema_migrations.

-- One row per successful import.
CREATE TABLE imports (
    id              INTEGER PRIMARY KEY,
    label           TEXT    NOT NULL,
    imported_at     INTEGER NOT NULL,           -- seconds since the Unix epoch, UTC
    facts_new       INTEGER NOT NULL,
    facts_revised   INTEGER NOT NULL,
    facts_unchanged INTEGER NOT NULL
);

-- The group of the last import: a single row holding serde_json of holdco_core::Group.
CREATE TABLE model_group (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    body      TEXT    NOT NULL,
    import_id INTEGER NOT NULL REFERENCES imports (id)
);

-- Metric definitions of the last import, in definition order (serde_json of holdco_core::Metric).
CREATE TABLE metrics (
    position INTEGER PRIMARY KEY,
    id       TEXT    NOT NULL UNIQUE,
    body     TEXT    NOT NULL
);

-- The timeline of the last import, in file order (serde_json of holdco_core::Change).
-- The date is repeated from the body so that SQL can filter on it.
CREATE TABLE changes (
    sequence INTEGER PRIMARY KEY,
    date     TEXT    NOT NULL,                  -- YYYY-MM-DD
    body     TEXT    NOT NULL
);

-- FX rates of the last import (serde_json of holdco_core::FxRate).
CREATE TABLE fx_rates (
    position INTEGER PRIMARY KEY,
    body     TEXT    NOT NULL
);

-- Every revision of every fact. The key is (unit, period_start, granularity, metric,
-- counterparty, basis, structure), and the primary key orders rows exactly as the core orders
-- fact keys (FactKey's Ord), so facts load in canonical order and an import can walk the stored
-- facts beside its own sorted ones. Hence basis is a number in the order of the core's Basis
-- enum (the current_facts view spells it out), key columns are never NULL ('' stands for
-- "none", which sorts first like None), and text compares bytewise (SQLite's BINARY collation,
-- like Rust's str).
-- Exactly one revision of each key, the highest, has is_current = 1.
-- Checks are written with OR, not IN (...): an IN list builds a temporary table on every
-- execution of the insert statement, which halves the import speed.
CREATE TABLE facts (
    unit         TEXT    NOT NULL,
    period_start INTEGER NOT NULL,              -- month index: year * 12 + month - 1
    granularity  TEXT    NOT NULL CHECK (granularity = 'month' OR granularity = 'quarter' OR granularity = 'year'),
    metric       TEXT    NOT NULL,
    counterparty TEXT    NOT NULL,              -- '' when the fact has no counterparty
    basis        INTEGER NOT NULL CHECK (basis >= 0 AND basis <= 3), -- 0 reported, 1 restated, 2 plan, 3 estimate
    structure    TEXT    NOT NULL,              -- YYYY-MM-DD when restated, '' otherwise
    revision     INTEGER NOT NULL CHECK (revision >= 1),
    -- No declared type on purpose: REAL affinity would store -0.0 as the integer 0 and lose
    -- its sign. Values are always IEEE doubles and read back bit for bit.
    value                NOT NULL CHECK (typeof(value) = 'real'),
    currency     TEXT,
    source       TEXT,
    import_id    INTEGER NOT NULL REFERENCES imports (id),
    is_current   INTEGER NOT NULL CHECK (is_current = 0 OR is_current = 1),
    PRIMARY KEY (unit, period_start, granularity, metric, counterparty, basis, structure, revision)
) WITHOUT ROWID;

-- The latest revision of every fact, with the basis by name: what a model holds.
CREATE VIEW current_facts AS
SELECT unit, period_start, granularity, metric, counterparty,
       CASE basis WHEN 0 THEN 'reported' WHEN 1 THEN 'restated' WHEN 2 THEN 'plan' ELSE 'estimate' END AS basis,
       structure, revision, value, currency, source, import_id
FROM facts
WHERE is_current = 1;
