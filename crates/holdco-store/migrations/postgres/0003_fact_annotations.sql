-- 0002_fact_annotations: a fact's note and precision, and deletions in the revision log
-- (as SQLite's 0005_fact_annotations).
--
-- A fact may carry a note and the rounding step it was published to (its precision, in the
-- fact's own units). A changed note or precision is a new revision. `holdco import --prune`
-- removes the facts a folder no longer holds by a deletion revision (deleted = true, the
-- value repeated from the revision it ends): the key's history stays, the model loses it.
ALTER TABLE fact_revisions
    ADD COLUMN note           text,
    ADD COLUMN precision_step double precision,
    ADD COLUMN deleted        boolean NOT NULL DEFAULT false;

-- Series rows: NULL when no fact of the series has one, else one element (maybe NULL) per period.
ALTER TABLE fact_series
    ADD COLUMN notes      text[],
    ADD COLUMN precisions double precision[];

-- Facts removed by an import with --prune.
ALTER TABLE imports ADD COLUMN facts_deleted bigint NOT NULL DEFAULT 0;

DROP VIEW current_facts;
DROP VIEW current_revisions;

-- The latest revision of every key of the revision log (a deletion included).
CREATE VIEW current_revisions AS
SELECT DISTINCT ON (unit, period_start, granularity, metric, counterparty, basis, structure)
       unit, period_start, granularity, metric, counterparty,
       CASE basis WHEN 0 THEN 'reported' WHEN 1 THEN 'restated' WHEN 2 THEN 'plan' ELSE 'estimate' END AS basis,
       structure, revision, value, currency, source, note, precision_step, deleted, import_id
FROM fact_revisions
ORDER BY unit, period_start, granularity, metric, counterparty, basis, structure, revision DESC;

-- The latest revision of every fact, with the basis by name: what a model holds, for SQL users.
CREATE VIEW current_facts AS
SELECT unit, period_start, granularity, metric, counterparty, basis, structure, revision, value,
       currency, source, note, precision_step, import_id
FROM current_revisions
WHERE NOT deleted
UNION ALL
SELECT s.unit, p.start AS period_start, s.granularity, s.metric, s.counterparty,
       CASE s.basis WHEN 0 THEN 'reported' WHEN 1 THEN 'restated' WHEN 2 THEN 'plan' ELSE 'estimate' END AS basis,
       s.structure, 1 AS revision, p.value, p.currency, p.source, p.note, p.precision_step, s.import_id
FROM fact_series AS s,
     unnest(s.periods, s.figures, s.currencies, s.sources, s.notes, s.precisions)
         AS p (start, value, currency, source, note, precision_step)
WHERE NOT EXISTS (
    SELECT 1 FROM fact_revisions AS r
    WHERE r.unit = s.unit AND r.period_start = p.start AND r.granularity = s.granularity
      AND r.metric = s.metric AND r.counterparty = s.counterparty AND r.basis = s.basis
      AND r.structure = s.structure
);
