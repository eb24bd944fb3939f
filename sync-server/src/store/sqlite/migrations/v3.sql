-- The changes each feed entry added to its task, kept so that a device
-- behind the entry is answered without loading the whole document. Entries
-- written before V3, and those of `insert_task`, have none.
-- the changes (encoded, concatenated) a feed entry added to its task
CREATE TABLE feed_changes (
    seq INTEGER PRIMARY KEY NOT NULL REFERENCES feed(seq),
    changes BLOB NOT NULL
) STRICT;
