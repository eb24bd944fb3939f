-- Plans and draws (双随机、一公开). A plan is edited as a draft, fixed
-- (its parameters, pools and commitment frozen), given its entropy by a
-- second person, and drawn once. A draw's record and pools are kept as
-- they were committed, beside the tasks it created.
CREATE TABLE plans (
    id          TEXT PRIMARY KEY NOT NULL,
    spec        TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('draft', 'fixed', 'drawn')),
    created_by  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    -- JSON of the fixed plan (parameters, pool hashes and sizes, commitment, who and when)
    fixed       TEXT,
    -- JSON of the pools snapshotted when the plan was fixed
    pools       TEXT,
    -- JSON of the entropy values and who typed them in
    entropy     TEXT,
    draw        TEXT
) STRICT;

CREATE TABLE draws (
    id      TEXT PRIMARY KEY NOT NULL,
    at      INTEGER NOT NULL,
    by      TEXT NOT NULL,
    -- JSON: the published record, and the pools (restricted)
    record  TEXT NOT NULL,
    pools   TEXT NOT NULL,
    -- JSON: the summary the public list shows
    summary TEXT NOT NULL
) STRICT;
CREATE INDEX draws_at ON draws (at);

CREATE TABLE draw_tasks (
    draw    TEXT NOT NULL REFERENCES draws(id),
    task_id TEXT NOT NULL REFERENCES tasks(id),
    PRIMARY KEY (draw, task_id)
) STRICT;
CREATE INDEX draw_tasks_task ON draw_tasks (task_id);

-- Declared conflicts of interest (回避): the inspector is never drawn for the subject.
CREATE TABLE conflicts (
    inspector   TEXT NOT NULL,
    uscc        TEXT NOT NULL,
    reason      TEXT NOT NULL,
    declared_by TEXT NOT NULL,
    declared_at INTEGER NOT NULL,
    PRIMARY KEY (inspector, uscc)
) STRICT;

-- Townships: of a subject's address (plans filter on it) and of an
-- inspector's residence (recusal when a plan asks for it).
ALTER TABLE subjects ADD COLUMN township TEXT NOT NULL DEFAULT '';
ALTER TABLE inspectors ADD COLUMN township TEXT NOT NULL DEFAULT '';
CREATE INDEX task_index_status ON task_index (status, updated_at);
