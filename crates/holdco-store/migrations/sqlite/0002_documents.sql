-- Model documents: the strategy, assessments and capital files of a model folder, kept as
-- raw text keyed by their path in the folder. An import replaces them all.
CREATE TABLE documents (
    path      TEXT    PRIMARY KEY,
    body      TEXT    NOT NULL,
    import_id INTEGER NOT NULL REFERENCES imports (id)
);
