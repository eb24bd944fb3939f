CREATE TABLE inspectors (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    badge_no TEXT NOT NULL,
    department TEXT NOT NULL,
    team TEXT NOT NULL
) STRICT;

CREATE TABLE enrollments (
    code_hash TEXT PRIMARY KEY NOT NULL,
    inspector TEXT NOT NULL REFERENCES inspectors(id),
    expires_at INTEGER NOT NULL,
    used_at INTEGER
) STRICT;

CREATE TABLE devices (
    id TEXT PRIMARY KEY NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    actor TEXT NOT NULL UNIQUE,
    person TEXT NOT NULL,
    role TEXT NOT NULL,
    team TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
) STRICT;

CREATE TABLE tasks (
    id TEXT PRIMARY KEY NOT NULL,
    team TEXT NOT NULL,
    doc BLOB NOT NULL
) STRICT;

-- one row per change of a task as the server saw it; seq is the feed position
CREATE TABLE feed (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id TEXT NOT NULL REFERENCES tasks(id),
    team TEXT NOT NULL,
    heads BLOB NOT NULL
) STRICT;
CREATE INDEX feed_team ON feed (team, seq);
CREATE INDEX feed_task ON feed (task_id, seq);

CREATE TABLE receipts (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    change_hash TEXT NOT NULL,
    task_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    prev TEXT NOT NULL,
    hash TEXT NOT NULL
) STRICT;
