-- Leads (案源线索) as records of their own: received from the console, from
-- outside channels with a per-channel key, or from a lead transfer recorded
-- in a task on a tablet; carried through their states to the answer, every
-- step kept in lead_events (who and when). The lead itself is kept as JSON
-- (`body`), with the columns the console filters and the server looks up by.
CREATE TABLE leads (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT NOT NULL UNIQUE,
    source          TEXT NOT NULL,
    state           TEXT NOT NULL,
    uscc            TEXT,
    received_at     INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    -- A lead transfer of a task: the task and the transfer's id, at most one lead each.
    source_task     TEXT,
    source_transfer TEXT,
    body            TEXT NOT NULL
) STRICT;
CREATE UNIQUE INDEX leads_transfer ON leads (source_task, source_transfer)
    WHERE source_task IS NOT NULL;
CREATE INDEX leads_state ON leads (state, received_at);
CREATE INDEX leads_uscc ON leads (uscc) WHERE uscc IS NOT NULL;

-- The departments a lead is with now (its inbox), for the console's scope.
CREATE TABLE lead_departments (
    lead_id    TEXT NOT NULL REFERENCES leads(id),
    department TEXT NOT NULL,
    PRIMARY KEY (lead_id, department)
) STRICT, WITHOUT ROWID;
CREATE INDEX lead_departments_department ON lead_departments (department);

-- Every step of a lead: append-only.
CREATE TABLE lead_events (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    lead_id TEXT NOT NULL REFERENCES leads(id),
    kind    TEXT NOT NULL,
    by      TEXT NOT NULL,
    at      INTEGER NOT NULL,
    -- JSON: departments, note, task, duplicate_of, sha256 as the step has them
    detail  TEXT NOT NULL
) STRICT;
CREATE INDEX lead_events_lead ON lead_events (lead_id, seq);

-- Keys of the outside channels (12345, 互联网+监管, …): only a hash of each.
CREATE TABLE channel_keys (
    id         TEXT PRIMARY KEY NOT NULL,
    channel    TEXT NOT NULL,
    key_hash   TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
) STRICT;
