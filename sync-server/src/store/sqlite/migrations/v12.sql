-- 亮码检查: revoked verify codes and the businesses' feedback (once per task).

CREATE TABLE verify_revocations (
    task_id TEXT PRIMARY KEY NOT NULL REFERENCES tasks(id),
    revoked_by TEXT NOT NULL,
    reason TEXT NOT NULL,
    revoked_at INTEGER NOT NULL
) STRICT;

-- Anonymous: no address in clear, only a keyed hash for abuse limits.
-- The team and departments are copied from the task, for the console's scope.
CREATE TABLE task_feedback (
    task_id TEXT PRIMARY KEY NOT NULL REFERENCES tasks(id),
    task_code TEXT NOT NULL,
    subject_name TEXT NOT NULL,
    team TEXT NOT NULL,
    departments TEXT NOT NULL,
    rating INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    badge_shown INTEGER NOT NULL CHECK (badge_shown IN (0, 1)),
    rights_told INTEGER NOT NULL CHECK (rights_told IN (0, 1)),
    money_asked INTEGER NOT NULL CHECK (money_asked IN (0, 1)),
    comment TEXT NOT NULL,
    address_hash TEXT NOT NULL,
    received_at INTEGER NOT NULL
) STRICT;

CREATE INDEX task_feedback_by_address ON task_feedback (address_hash, received_at);
CREATE INDEX task_feedback_by_time ON task_feedback (received_at);
