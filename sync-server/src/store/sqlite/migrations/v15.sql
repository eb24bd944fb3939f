-- Bytes each device sent into an object store per UTC day, for the daily
-- quota (`crate::blobs::Quota::bytes_per_day`): counted here so that every
-- instance counts against one total. Days before yesterday are deleted by
-- the hourly sweep.

CREATE TABLE blob_bytes (
    device_id TEXT NOT NULL,
    day INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    PRIMARY KEY (device_id, day)
) STRICT;
