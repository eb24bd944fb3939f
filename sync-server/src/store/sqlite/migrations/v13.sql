-- Signed checkpoints of the receipt log (see `crate::audit`): the hash of
-- entry `seq` as the server signed it at `at` with key `kid`.

CREATE TABLE checkpoints (
    seq INTEGER PRIMARY KEY NOT NULL,
    head TEXT NOT NULL,
    at INTEGER NOT NULL,
    kid TEXT NOT NULL,
    sig TEXT NOT NULL
) STRICT;

-- A device's own receipts, for `GET /api/v1/audit/receipts`.
CREATE INDEX receipts_by_device ON receipts (device_id, seq);
