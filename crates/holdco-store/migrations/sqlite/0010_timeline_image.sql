-- 0010_timeline_image: the replayed timeline compiled into one binary image, so that a fresh
-- process answers `holdco structure --at DATE` by decoding arrays instead of reading and
-- replaying every change (issue 11 item 3: 6.4 s on a store of 100k units and 1.1M changes).
--
-- `image` is holdco_core::timeline_image's format (its module documentation describes every
-- byte): per unit its id, kind, creation, end, and dated names, parents and stakes; the root,
-- the group's name and the latest change's date. It is derived from the rows of `changes`,
-- written in the same transaction as they are by every import and applied change set, and
-- tagged with that import's id: a reader uses it only when the tag is the import of the
-- current group row (`model_group.import_id`), and otherwise reads and replays `changes`, as
-- it does for a store written before this migration (which has no row here until its next
-- import). The changes stay the truth; deleting this row only makes reads slower.
CREATE TABLE IF NOT EXISTS timeline_image (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    import_id INTEGER NOT NULL,
    image     BLOB    NOT NULL
);
