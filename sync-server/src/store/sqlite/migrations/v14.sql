-- Uploads whose parts live in an object store (`crate::blobs::ObjectBlobs`):
-- one row per device and blob; `parts` is each received part's length
-- followed by `,`, in order; `part_count` makes appending one a
-- compare-and-set.

CREATE TABLE uploads (
    device_id TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    length INTEGER NOT NULL,
    parts TEXT NOT NULL DEFAULT '',
    part_count INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (device_id, sha256)
) STRICT;

CREATE INDEX uploads_by_age ON uploads (updated_at);
