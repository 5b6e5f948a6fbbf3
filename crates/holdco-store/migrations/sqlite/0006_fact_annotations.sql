-- 0005_fact_annotations: a fact's note and precision, and deletions in the revision log.
--
-- A fact may carry a note ("restated by the group in the FY2024 annual report") and the
-- rounding step it was published to (its precision, in the fact's own units: 100 for a
-- figure in millions published to a tenth of a billion). Both belong to the figure: a
-- changed note or precision is a new revision, as a changed source is.
--
-- `holdco import --prune` removes from the current model the facts a folder no longer
-- holds, keeping their history: the key gets a deletion revision (deleted = 1, the value
-- repeated from the revision it ends). A deleted key is not in the model; importing it
-- again makes the next revision.
ALTER TABLE fact_revisions ADD COLUMN note TEXT;
ALTER TABLE fact_revisions ADD COLUMN precision_step REAL;
ALTER TABLE fact_revisions ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0 CHECK (deleted = 0 OR deleted = 1);

-- Series rows: NULL when no fact of the series has a note or a precision; otherwise a JSON
-- array of one [note, precision] pair per period (either may be null).
ALTER TABLE facts ADD COLUMN annotations TEXT;

-- Facts removed by an import with --prune.
ALTER TABLE imports ADD COLUMN facts_deleted INTEGER NOT NULL DEFAULT 0;

DROP VIEW current_facts;
CREATE VIEW current_facts AS
SELECT unit, period_start, granularity, metric, counterparty,
       CASE basis WHEN 0 THEN 'reported' WHEN 1 THEN 'restated' WHEN 2 THEN 'plan' ELSE 'estimate' END AS basis,
       structure, revision, value, currency, source, note, precision_step, import_id
FROM fact_revisions
WHERE is_current = 1 AND deleted = 0
UNION ALL
SELECT s.unit, p.value AS period_start, s.granularity, s.metric, s.counterparty,
       CASE s.basis WHEN 0 THEN 'reported' WHEN 1 THEN 'restated' WHEN 2 THEN 'plan' ELSE 'estimate' END AS basis,
       s.structure, 1 AS revision,
       json_extract(s.figures, '$[' || p.key || ']') AS value,
       json_extract(s.extras, '$[' || p.key || '][0]') AS currency,
       json_extract(s.extras, '$[' || p.key || '][1]') AS source,
       json_extract(s.annotations, '$[' || p.key || '][0]') AS note,
       json_extract(s.annotations, '$[' || p.key || '][1]') AS precision_step,
       s.import_id
FROM facts AS s, json_each(s.periods) AS p
WHERE p.key NOT IN (SELECT value FROM json_each(s.superseded));
