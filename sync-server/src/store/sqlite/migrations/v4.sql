-- What the write policy flagged for the reviewer on accepted changes, and
-- whether an inspector is active (a deactivated inspector's devices are
-- refused).
CREATE TABLE change_flags (
    task_id     TEXT NOT NULL REFERENCES tasks(id),
    -- the flag as JSON (fieldloop_core::policy::Flag)
    flag        TEXT NOT NULL,
    device_id   TEXT NOT NULL,
    received_at INTEGER NOT NULL
) STRICT;
CREATE INDEX change_flags_task ON change_flags (task_id);
ALTER TABLE inspectors ADD COLUMN active INTEGER NOT NULL DEFAULT 1;
-- who uploaded each blob: a blob is visible to the teams whose devices did
CREATE TABLE blob_owners (
    sha256      TEXT NOT NULL,
    team        TEXT NOT NULL,
    device_id   TEXT NOT NULL,
    uploaded_at INTEGER NOT NULL,
    PRIMARY KEY (sha256, team, device_id)
) STRICT;
