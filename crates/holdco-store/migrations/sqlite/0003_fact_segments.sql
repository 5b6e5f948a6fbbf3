-- 0003_fact_segments: facts stored by series; the revision log keeps later revisions.
--
-- Importing ten million facts as one B-tree row each costs tens of seconds, so the facts an
-- import records for the first time are now written by series (one unit, granularity,
-- metric, counterparty, basis and structure): one row of `facts` holds the periods and values
-- of every such fact of the series as JSON arrays, which SQL can still read (json_each, see
-- the current_facts view).
--
-- The former facts table becomes `fact_revisions`, the revision log, unchanged: a key with
-- any row there takes its whole history from there. When an import revises a key that only a
-- segment holds, it copies that first revision into fact_revisions (not current, with its
-- original import), writes the new revision there, and records the fact's position in the
-- segment's `superseded` list. A key is in at most one segment: only keys the store did not
-- hold go into one.
DROP VIEW current_facts;
ALTER TABLE facts RENAME TO fact_revisions;

CREATE TABLE facts (
    unit          TEXT    NOT NULL,
    granularity   TEXT    NOT NULL CHECK (granularity = 'month' OR granularity = 'quarter' OR granularity = 'year'),
    metric        TEXT    NOT NULL,
    counterparty  TEXT    NOT NULL,              -- '' when the series has no counterparty
    basis         INTEGER NOT NULL CHECK (basis >= 0 AND basis <= 3), -- as in fact_revisions
    structure     TEXT    NOT NULL,              -- YYYY-MM-DD when restated, '' otherwise
    import_id     INTEGER NOT NULL REFERENCES imports (id),
    periods       TEXT    NOT NULL,              -- JSON array of period starts (month indexes), ascending
    figures       TEXT    NOT NULL,              -- JSON array of the values, one per period
    -- NULL when no fact of the series has a currency or source; otherwise a JSON array of one
    -- [currency, source] pair per period.
    extras        TEXT,
    superseded    TEXT    NOT NULL DEFAULT '[]', -- JSON array of positions revised since
    PRIMARY KEY (unit, granularity, metric, counterparty, basis, structure, import_id)
) WITHOUT ROWID;

-- The latest revision of every fact, with the basis by name: what a model holds.
CREATE VIEW current_facts AS
SELECT unit, period_start, granularity, metric, counterparty,
       CASE basis WHEN 0 THEN 'reported' WHEN 1 THEN 'restated' WHEN 2 THEN 'plan' ELSE 'estimate' END AS basis,
       structure, revision, value, currency, source, import_id
FROM fact_revisions
WHERE is_current = 1
UNION ALL
SELECT s.unit, p.value AS period_start, s.granularity, s.metric, s.counterparty,
       CASE s.basis WHEN 0 THEN 'reported' WHEN 1 THEN 'restated' WHEN 2 THEN 'plan' ELSE 'estimate' END AS basis,
       s.structure, 1 AS revision,
       json_extract(s.figures, '$[' || p.key || ']') AS value,
       json_extract(s.extras, '$[' || p.key || '][0]') AS currency,
       json_extract(s.extras, '$[' || p.key || '][1]') AS source,
       s.import_id
FROM facts AS s, json_each(s.periods) AS p
WHERE p.key NOT IN (SELECT value FROM json_each(s.superseded));
