-- Rectification follow-up (整改复查). A finding with a rectification order
-- and deadline gets a row once its task is approved; a re-check task (复查)
-- closes it as rectified or not. 'due' is not stored: it is 'ordered' with
-- the deadline passed, by the server's clock at the time of asking.
CREATE TABLE rectifications (
    id              TEXT PRIMARY KEY NOT NULL,
    task_id         TEXT NOT NULL,
    task_code       TEXT NOT NULL,
    team            TEXT NOT NULL,
    -- department codes between spaces (' A B '), the lead first
    departments     TEXT NOT NULL,
    lead_department TEXT NOT NULL,
    uscc            TEXT NOT NULL,
    subject_name    TEXT NOT NULL,
    finding_id      TEXT NOT NULL,
    item_id         TEXT,
    item_title      TEXT,
    description     TEXT NOT NULL,
    severity        TEXT NOT NULL,
    rectification_order TEXT NOT NULL,
    deadline        INTEGER NOT NULL,
    ordered_at      INTEGER NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('ordered', 'rechecking', 'rectified', 'not_rectified')),
    recheck_task    TEXT,
    recheck_code    TEXT,
    closed_at       INTEGER,
    updated_at      INTEGER NOT NULL,
    UNIQUE (task_id, finding_id)
) STRICT;
CREATE INDEX rectifications_state ON rectifications (state, deadline);
CREATE INDEX rectifications_recheck ON rectifications (recheck_task) WHERE recheck_task IS NOT NULL;
-- Approved tasks whose findings were looked at for rectification orders
-- (so a task with none is not read again). Tasks approved before V11 are
-- not in it: the server looks at them the first time it is asked.
CREATE TABLE rectification_scans (
    task_id    TEXT PRIMARY KEY NOT NULL,
    scanned_at INTEGER NOT NULL
) STRICT;
