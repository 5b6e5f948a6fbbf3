-- 0008_binary_series: a series row's periods and figures as little-endian binary.
--
-- Reading a metric's series back from JSON text was most of a roll-up from the store (about
-- 0.77 s of 1 s for one metric of an 11.6M-fact store): every number parsed from text. Series
-- rows written from now on hold, in the same columns of `facts`:
--
--   periods  a BLOB of 4-byte little-endian two's-complement integers: the period starts
--            (month indexes, year * 12 + month - 1), ascending;
--   figures  a BLOB of 8-byte little-endian IEEE 754 doubles, one per period, bit for bit.
--
-- Rows written before keep their JSON text; readers tell the two apart by the value's type
-- (typeof(periods) = 'blob'), so an older store reads as before and one store may hold rows of
-- both kinds. `extras`, `annotations` and `superseded` stay JSON (positions count from 0).
--
-- SQL users keep reading every current fact from `current_facts`, which now decodes the
-- binary arrays with core SQL only (no extension, any sqlite3 client): bytes are read with
-- instr() against the 256 byte values, and a double is sign * (mantissa + 2^52) *
-- 2^(exponent - 1075) (subnormals: mantissa * 2^-1074), exact, with the power of two taken
-- from `binary_scale` (built here by doubling and halving from 1.0, so every entry is exact).
-- Figures are always finite, so exponent 2047 never occurs.

-- 2^(exponent - 1075) for every biased exponent of a finite double, 1 to 2046: the value of
-- a mantissa's lowest bit.
CREATE TABLE binary_scale (
    exponent INTEGER PRIMARY KEY,
    scale    REAL    NOT NULL
);
INSERT INTO binary_scale (exponent, scale)
WITH RECURSIVE
    up (exponent, scale) AS (
        SELECT 1075, 1.0
        UNION ALL SELECT exponent + 1, scale * 2.0 FROM up WHERE exponent < 2046),
    down (exponent, scale) AS (
        SELECT 1074, 0.5
        UNION ALL SELECT exponent - 1, scale / 2.0 FROM down WHERE exponent > 1)
SELECT exponent, scale FROM up
UNION ALL
SELECT exponent, scale FROM down;

DROP VIEW current_facts;
CREATE VIEW current_facts AS
SELECT unit, period_start, granularity, metric, counterparty,
       CASE basis WHEN 0 THEN 'reported' WHEN 1 THEN 'restated' WHEN 2 THEN 'plan' WHEN 3 THEN 'estimate' ELSE 'pro_forma' END AS basis,
       structure, revision, value, currency, source, note, precision_step, import_id
FROM fact_revisions
WHERE is_current = 1 AND deleted = 0
UNION ALL
-- Series rows written before migration 0008: JSON text arrays.
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
WHERE typeof(s.periods) = 'text'
  AND p.key NOT IN (SELECT value FROM json_each(s.superseded))
UNION ALL
-- Binary series rows: one row per position (a JSON array of that many zeros numbers them),
-- its period start and figure decoded from the bytes.
SELECT b.unit,
       b.p0 + 256 * b.p1 + 65536 * b.p2 + 16777216 * b.p3
         - CASE WHEN b.p3 >= 128 THEN 4294967296 ELSE 0 END AS period_start,
       b.granularity, b.metric, b.counterparty,
       CASE b.basis WHEN 0 THEN 'reported' WHEN 1 THEN 'restated' WHEN 2 THEN 'plan' WHEN 3 THEN 'estimate' ELSE 'pro_forma' END AS basis,
       b.structure, 1 AS revision,
       CASE WHEN b.f7 >= 128 THEN -1.0 ELSE 1.0 END
         * (b.f0 + 256 * b.f1 + 65536 * b.f2 + 16777216 * b.f3 + 4294967296 * b.f4
            + 1099511627776 * b.f5 + 281474976710656 * (b.f6 % 16)
            + CASE WHEN (b.f7 % 128) * 16 + b.f6 / 16 > 0 THEN 4503599627370496 ELSE 0 END)
         * (SELECT scale FROM binary_scale
            WHERE exponent = max(1, (b.f7 % 128) * 16 + b.f6 / 16)) AS value,
       json_extract(b.extras, '$[' || b.position || '][0]') AS currency,
       json_extract(b.extras, '$[' || b.position || '][1]') AS source,
       json_extract(b.annotations, '$[' || b.position || '][0]') AS note,
       json_extract(b.annotations, '$[' || b.position || '][1]') AS precision_step,
       b.import_id
FROM (
    SELECT s.unit, s.granularity, s.metric, s.counterparty, s.basis, s.structure, s.extras,
           s.annotations, s.import_id, p.key AS position,
           instr(x.bytes, substr(s.periods, 4 * p.key + 1, 1)) - 1 AS p0,
           instr(x.bytes, substr(s.periods, 4 * p.key + 2, 1)) - 1 AS p1,
           instr(x.bytes, substr(s.periods, 4 * p.key + 3, 1)) - 1 AS p2,
           instr(x.bytes, substr(s.periods, 4 * p.key + 4, 1)) - 1 AS p3,
           instr(x.bytes, substr(s.figures, 8 * p.key + 1, 1)) - 1 AS f0,
           instr(x.bytes, substr(s.figures, 8 * p.key + 2, 1)) - 1 AS f1,
           instr(x.bytes, substr(s.figures, 8 * p.key + 3, 1)) - 1 AS f2,
           instr(x.bytes, substr(s.figures, 8 * p.key + 4, 1)) - 1 AS f3,
           instr(x.bytes, substr(s.figures, 8 * p.key + 5, 1)) - 1 AS f4,
           instr(x.bytes, substr(s.figures, 8 * p.key + 6, 1)) - 1 AS f5,
           instr(x.bytes, substr(s.figures, 8 * p.key + 7, 1)) - 1 AS f6,
           instr(x.bytes, substr(s.figures, 8 * p.key + 8, 1)) - 1 AS f7
    FROM facts AS s,
         json_each('[' || substr(replace(hex(zeroblob(length(s.periods) / 4)), '00', ',0'), 2) || ']') AS p,
         (SELECT x'000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F202122232425262728292A2B2C2D2E2F303132333435363738393A3B3C3D3E3F404142434445464748494A4B4C4D4E4F505152535455565758595A5B5C5D5E5F606162636465666768696A6B6C6D6E6F707172737475767778797A7B7C7D7E7F808182838485868788898A8B8C8D8E8F909192939495969798999A9B9C9D9E9FA0A1A2A3A4A5A6A7A8A9AAABACADAEAFB0B1B2B3B4B5B6B7B8B9BABBBCBDBEBFC0C1C2C3C4C5C6C7C8C9CACBCCCDCECFD0D1D2D3D4D5D6D7D8D9DADBDCDDDEDFE0E1E2E3E4E5E6E7E8E9EAEBECEDEEEFF0F1F2F3F4F5F6F7F8F9FAFBFCFDFEFF' AS bytes) AS x
    WHERE typeof(s.periods) = 'blob'
      AND p.key NOT IN (SELECT value FROM json_each(s.superseded))
) AS b;
