//! The tablet database's schema, as append-only migrations.
//!
//! Never edit a migration that has shipped: add a new one.

use rusqlite_migration::{M, Migrations};

/// Version 1: documents as a snapshot plus incremental chunks, and the task index.
const V1: &str = "
CREATE TABLE documents (
    task_id      TEXT PRIMARY KEY NOT NULL,
    snapshot     BLOB NOT NULL,
    -- every chunk with seq <= snapshot_seq is already inside the snapshot
    snapshot_seq INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE doc_chunks (
    task_id TEXT NOT NULL REFERENCES documents(task_id) ON DELETE CASCADE,
    seq     INTEGER NOT NULL,
    bytes   BLOB NOT NULL,
    PRIMARY KEY (task_id, seq)
) STRICT;

CREATE TABLE task_index (
    task_id      TEXT PRIMARY KEY NOT NULL REFERENCES documents(task_id) ON DELETE CASCADE,
    code         TEXT NOT NULL,
    subject_name TEXT NOT NULL,
    uscc         TEXT NOT NULL,
    status       TEXT NOT NULL,
    due          INTEGER NOT NULL,
    -- space-delimited with a leading and trailing space: ' SCJG XFJY '
    departments  TEXT NOT NULL,
    -- 1 while the tablet holds changes the server has not acknowledged
    dirty        INTEGER NOT NULL DEFAULT 0,
    updated_at   INTEGER NOT NULL
) STRICT;

CREATE INDEX task_index_due ON task_index (due, code);
CREATE INDEX task_index_status ON task_index (status, due);
CREATE INDEX task_index_dirty ON task_index (dirty) WHERE dirty = 1;
";

/// Version 2: what the tablet knows the server has, and settings
/// (enrollment, sync cursor).
const V2: &str = "
ALTER TABLE documents ADD COLUMN server_heads BLOB NOT NULL DEFAULT x'';
CREATE TABLE settings (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) STRICT;
";

/// Version 3: evidence blobs (photos, signatures) the server does not hold yet.
const V3: &str = "
CREATE TABLE blob_uploads (
    sha256    TEXT PRIMARY KEY NOT NULL,
    task_id   TEXT NOT NULL,
    queued_at INTEGER NOT NULL
) STRICT;
";

/// Version 4: tasks whose copy the server must send again whole (a delta
/// arrived without what it builds on), and edits the server refused, kept
/// so that nothing typed on site is lost without a word.
const V4: &str = "
CREATE TABLE repairs (
    task_id  TEXT PRIMARY KEY NOT NULL,
    asked_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 1
) STRICT;

CREATE TABLE refused_edits (
    task_id     TEXT NOT NULL,
    change_hash TEXT NOT NULL,
    -- the refused Automerge change itself, as it was made
    bytes       BLOB NOT NULL,
    -- the change's own message (what the edit did) and when it was made
    message     TEXT NOT NULL,
    made_at     INTEGER NOT NULL,
    -- why: the server's code and sentence
    code        TEXT NOT NULL,
    reason      TEXT NOT NULL,
    refused_at  INTEGER NOT NULL,
    PRIMARY KEY (task_id, change_hash)
) STRICT;
";

/// Version 5: the audit of the server's receipt log (see `crate::audit`):
/// this tablet's own receipts as the server gave them, and the last signed
/// checkpoint it took.
const V5: &str = "
CREATE TABLE audit_receipts (
    seq         INTEGER PRIMARY KEY NOT NULL,
    change_hash TEXT NOT NULL,
    task_id     TEXT NOT NULL,
    device_id   TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    prev        TEXT NOT NULL,
    hash        TEXT NOT NULL
) STRICT;

CREATE INDEX audit_receipts_by_change ON audit_receipts (task_id, change_hash);

CREATE TABLE audit_checkpoint (
    id   INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    seq  INTEGER NOT NULL,
    head TEXT NOT NULL,
    at   INTEGER NOT NULL,
    kid  TEXT NOT NULL,
    sig  TEXT NOT NULL
) STRICT;
";

pub(crate) fn migrations() -> Migrations<'static> {
    Migrations::new(vec![M::up(V1), M::up(V2), M::up(V3), M::up(V4), M::up(V5)])
}

#[cfg(test)]
mod tests {
    #[test]
    fn migrations_are_valid() {
        assert!(super::migrations().validate().is_ok());
    }
}
