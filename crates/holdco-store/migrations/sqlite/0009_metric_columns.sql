-- 0009_metric_columns: each metric's current facts as one columnar image.
--
-- A roll-up from the store read every series row of `facts` (the table's key leads with the
-- unit, so SQLite went through the pages of every metric to find one) and then built its
-- in-memory table fact by fact: 0.3 s for one metric of an 11.6M-fact store, 4 s for all
-- 22. Now each metric's current facts are also kept as one row of `metric_columns`, already
-- in the order and layout of the engine's columnar table (holdco_core::columnar::FactTable),
-- so a query reads only the rows of the metrics it asks and copies their arrays into the
-- table's columns.
--
-- Layout (format 1; every integer and double little-endian, doubles bit for bit):
--   names    JSON array of the unit ids and currency codes the series name (text, so the
--            image does not depend on the order of units in the model)
--   series   20 bytes a series: unit, counterparty, currency (indexes into names,
--            0xFFFFFFFF for none), basis code (as in facts), structure date (days from the
--            common era; 0 when the basis has none); a series groups the facts of one unit,
--            counterparty, currency and basis across granularities
--   offsets  4 bytes a series, plus one: rows of series s are offsets[s] .. offsets[s + 1]
--   periods  8 bytes an entry: start month index (year * 12 + month - 1), granularity
--            (0 month, 1 quarter, 2 year); ascending (start, then granularity)
--   period   2 bytes a row: index into periods, ascending within a series
--   figures  8 bytes a row: the current figure (revised figures in place)
-- `facts` is the number of rows; a metric without current facts has no row.
--
-- The images are written in the same transaction as the facts: triggers put the metric of
-- every row inserted, updated or deleted in `facts` or `fact_revisions` (by holdco or by
-- hand) into `metric_columns_stale`, and an import rewrites the image of each stale metric
-- from the series rows before it commits, then empties that list. A reader that finds the
-- list not empty reads the series rows as before 0009 (the images are never read out of
-- date). This migration marks every metric the store holds as stale: a store written before
-- it gets its images at its next import (even of an unchanged folder).
--
-- `facts_by_metric` lets that rewrite read one metric's series rows without the others'.
-- SQL users keep reading the current facts from the `current_facts` view, unchanged; the
-- images are for holdco's reader only.
CREATE TABLE metric_columns (
    metric  TEXT    PRIMARY KEY,
    format  INTEGER NOT NULL,
    facts   INTEGER NOT NULL CHECK (facts > 0),
    names   TEXT    NOT NULL,
    series  BLOB    NOT NULL,
    offsets BLOB    NOT NULL,
    periods BLOB    NOT NULL,
    period  BLOB    NOT NULL,
    figures BLOB    NOT NULL
);

CREATE TABLE metric_columns_stale (
    metric TEXT PRIMARY KEY
) WITHOUT ROWID;

CREATE INDEX facts_by_metric ON facts (metric);

INSERT OR IGNORE INTO metric_columns_stale (metric) SELECT DISTINCT metric FROM facts;
INSERT OR IGNORE INTO metric_columns_stale (metric) SELECT DISTINCT metric FROM fact_revisions;

CREATE TRIGGER facts_insert_stales_image AFTER INSERT ON facts BEGIN
    INSERT OR IGNORE INTO metric_columns_stale (metric) VALUES (NEW.metric);
END;
CREATE TRIGGER facts_update_stales_image AFTER UPDATE ON facts BEGIN
    INSERT OR IGNORE INTO metric_columns_stale (metric) VALUES (OLD.metric);
    INSERT OR IGNORE INTO metric_columns_stale (metric) VALUES (NEW.metric);
END;
CREATE TRIGGER facts_delete_stales_image AFTER DELETE ON facts BEGIN
    INSERT OR IGNORE INTO metric_columns_stale (metric) VALUES (OLD.metric);
END;
CREATE TRIGGER fact_revisions_insert_stales_image AFTER INSERT ON fact_revisions BEGIN
    INSERT OR IGNORE INTO metric_columns_stale (metric) VALUES (NEW.metric);
END;
CREATE TRIGGER fact_revisions_update_stales_image AFTER UPDATE ON fact_revisions BEGIN
    INSERT OR IGNORE INTO metric_columns_stale (metric) VALUES (OLD.metric);
    INSERT OR IGNORE INTO metric_columns_stale (metric) VALUES (NEW.metric);
END;
CREATE TRIGGER fact_revisions_delete_stales_image AFTER DELETE ON fact_revisions BEGIN
    INSERT OR IGNORE INTO metric_columns_stale (metric) VALUES (OLD.metric);
END;
