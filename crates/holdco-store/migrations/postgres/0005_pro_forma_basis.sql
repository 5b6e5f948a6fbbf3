-- 0005_pro_forma_basis: facts with basis `pro_forma` (code 4, with the structure date they
-- were published under, as restated facts), as SQLite's 0007_pro_forma_basis: the group's
-- own pro-forma figures, read only by the pro-forma view.
ALTER TABLE fact_series DROP CONSTRAINT IF EXISTS fact_series_basis_check;
ALTER TABLE fact_series ADD CONSTRAINT fact_series_basis_check CHECK (basis BETWEEN 0 AND 4);
ALTER TABLE fact_revisions DROP CONSTRAINT IF EXISTS fact_revisions_basis_check;
ALTER TABLE fact_revisions ADD CONSTRAINT fact_revisions_basis_check CHECK (basis BETWEEN 0 AND 4);

DROP VIEW current_facts;
DROP VIEW current_revisions;

-- The latest revision of every key of the revision log (a deletion included).
CREATE VIEW current_revisions AS
SELECT DISTINCT ON (unit, period_start, granularity, metric, counterparty, basis, structure)
       unit, period_start, granularity, metric, counterparty,
       CASE basis WHEN 0 THEN 'reported' WHEN 1 THEN 'restated' WHEN 2 THEN 'plan' WHEN 3 THEN 'estimate' ELSE 'pro_forma' END AS basis,
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
       CASE s.basis WHEN 0 THEN 'reported' WHEN 1 THEN 'restated' WHEN 2 THEN 'plan' WHEN 3 THEN 'estimate' ELSE 'pro_forma' END AS basis,
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
