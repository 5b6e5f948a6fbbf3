-- 0007_pro_forma_basis: facts with basis `pro_forma` (code 4, with the structure date they
-- were published under, as restated facts): the group's own pro-forma figures, read only by
-- the pro-forma view. The CHECK constraints of `facts` and `fact_revisions` are widened to
-- code 4 by the migration's Rust step (see migrations.rs); here the view SQL users read
-- names the new basis.
DROP VIEW current_facts;
CREATE VIEW current_facts AS
SELECT unit, period_start, granularity, metric, counterparty,
       CASE basis WHEN 0 THEN 'reported' WHEN 1 THEN 'restated' WHEN 2 THEN 'plan' WHEN 3 THEN 'estimate' ELSE 'pro_forma' END AS basis,
       structure, revision, value, currency, source, note, precision_step, import_id
FROM fact_revisions
WHERE is_current = 1 AND deleted = 0
UNION ALL
SELECT s.unit, p.value AS period_start, s.granularity, s.metric, s.counterparty,
       CASE s.basis WHEN 0 THEN 'reported' WHEN 1 THEN 'restated' WHEN 2 THEN 'plan' WHEN 3 THEN 'estimate' ELSE 'pro_forma' END AS basis,
       s.structure, 1 AS revision,
       json_extract(s.figures, '$[' || p.key || ']') AS value,
       json_extract(s.extras, '$[' || p.key || '][0]') AS currency,
       json_extract(s.extras, '$[' || p.key || '][1]') AS source,
       json_extract(s.annotations, '$[' || p.key || '][0]') AS note,
       json_extract(s.annotations, '$[' || p.key || '][1]') AS precision_step,
       s.import_id
FROM facts AS s, json_each(s.periods) AS p
WHERE p.key NOT IN (SELECT value FROM json_each(s.superseded));
