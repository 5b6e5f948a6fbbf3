-- 0001_init: the first schema of a holdco PostgreSQL store.
-- Released migrations are never edited: change the schema by adding 0002_*.sql and so on.
-- The migration runner records applied versions in schema_migrations.
--
-- The layout follows the SQLite store's (migrations/sqlite, up to 0003): the small parts of
-- a model as serde_json text, one row each; the facts an import records for the first time
-- by series (one row per unit, granularity, metric, counterparty, basis and structure, with
-- its periods and values as arrays); later revisions one row each in fact_revisions.
-- Key text columns compare bytewise (COLLATE "C"), as Rust compares strings.

-- One row per successful import. Ids are given by the import (the highest plus one) under
-- the import lock, so they run 1, 2, 3 ... like the SQLite store's.
CREATE TABLE imports (
    id              bigint  PRIMARY KEY,
    label           text    NOT NULL,
    imported_at     bigint  NOT NULL,           -- seconds since the Unix epoch, UTC
    facts_new       bigint  NOT NULL,
    facts_revised   bigint  NOT NULL,
    facts_unchanged bigint  NOT NULL
);

-- The group of the last import: a single row holding serde_json of holdco_core::Group.
CREATE TABLE model_group (
    singleton smallint PRIMARY KEY CHECK (singleton = 1),
    body      text     NOT NULL,
    import_id bigint   NOT NULL REFERENCES imports (id)
);

-- Metric definitions of the last import, in definition order (serde_json of holdco_core::Metric).
CREATE TABLE metrics (
    position integer PRIMARY KEY,
    id       text    NOT NULL UNIQUE,
    body     text    NOT NULL
);

-- The timeline of the last import, in file order (serde_json of holdco_core::Change).
CREATE TABLE changes (
    sequence integer PRIMARY KEY,
    date     text    NOT NULL,                  -- YYYY-MM-DD
    body     text    NOT NULL
);

-- FX rates of the last import (serde_json of holdco_core::FxRate).
CREATE TABLE fx_rates (
    position integer PRIMARY KEY,
    body     text    NOT NULL
);

-- Model documents (strategy, assessments, capital files) by their path in the folder.
CREATE TABLE documents (
    path      text   PRIMARY KEY,
    body      text   NOT NULL,
    import_id bigint NOT NULL REFERENCES imports (id)
);

-- Facts recorded for the first time, one row per series and import. A key is in at most one
-- series row (only keys the store did not hold go into one). currencies and sources are NULL
-- when no fact of the series has one, else one element (maybe NULL) per period.
CREATE TABLE fact_series (
    unit         text COLLATE "C" NOT NULL,
    granularity  text             NOT NULL CHECK (granularity IN ('month', 'quarter', 'year')),
    metric       text COLLATE "C" NOT NULL,
    counterparty text COLLATE "C" NOT NULL,    -- '' when the series has no counterparty
    basis        smallint         NOT NULL CHECK (basis BETWEEN 0 AND 3), -- 0 reported, 1 restated, 2 plan, 3 estimate
    structure    text COLLATE "C" NOT NULL,    -- YYYY-MM-DD when restated, '' otherwise
    import_id    bigint           NOT NULL REFERENCES imports (id),
    periods      integer[]        NOT NULL,    -- period starts (month indexes), ascending
    figures      double precision[] NOT NULL,  -- one value per period
    currencies   text[],
    sources      text[],
    PRIMARY KEY (unit, granularity, metric, counterparty, basis, structure, import_id)
);

-- The revision log: a key with any row here takes its whole history from here (its first
-- revision is copied here, with its original import, when it is first revised). The current
-- figure of a key is its highest revision.
CREATE TABLE fact_revisions (
    unit         text COLLATE "C" NOT NULL,
    period_start integer          NOT NULL,    -- month index: year * 12 + month - 1
    granularity  text             NOT NULL CHECK (granularity IN ('month', 'quarter', 'year')),
    metric       text COLLATE "C" NOT NULL,
    counterparty text COLLATE "C" NOT NULL,
    basis        smallint         NOT NULL CHECK (basis BETWEEN 0 AND 3),
    structure    text COLLATE "C" NOT NULL,
    revision     integer          NOT NULL CHECK (revision >= 1),
    value        double precision NOT NULL,
    currency     text,
    source       text,
    import_id    bigint           NOT NULL REFERENCES imports (id),
    PRIMARY KEY (unit, period_start, granularity, metric, counterparty, basis, structure, revision)
);

-- The latest revision of every key of the revision log.
CREATE VIEW current_revisions AS
SELECT DISTINCT ON (unit, period_start, granularity, metric, counterparty, basis, structure)
       unit, period_start, granularity, metric, counterparty,
       CASE basis WHEN 0 THEN 'reported' WHEN 1 THEN 'restated' WHEN 2 THEN 'plan' ELSE 'estimate' END AS basis,
       structure, revision, value, currency, source, import_id
FROM fact_revisions
ORDER BY unit, period_start, granularity, metric, counterparty, basis, structure, revision DESC;

-- The latest revision of every fact, with the basis by name: what a model holds, for SQL users.
CREATE VIEW current_facts AS
SELECT * FROM current_revisions
UNION ALL
SELECT s.unit, p.start AS period_start, s.granularity, s.metric, s.counterparty,
       CASE s.basis WHEN 0 THEN 'reported' WHEN 1 THEN 'restated' WHEN 2 THEN 'plan' ELSE 'estimate' END AS basis,
       s.structure, 1 AS revision, p.value, p.currency, p.source, s.import_id
FROM fact_series AS s,
     unnest(s.periods, s.figures, s.currencies, s.sources) AS p (start, value, currency, source)
WHERE NOT EXISTS (
    SELECT 1 FROM fact_revisions AS r
    WHERE r.unit = s.unit AND r.period_start = p.start AND r.granularity = s.granularity
      AND r.metric = s.metric AND r.counterparty = s.counterparty AND r.basis = s.basis
      AND r.structure = s.structure
);
