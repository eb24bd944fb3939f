-- The task index the console lists, filters, sorts and counts: one row per
-- task, written in the same transaction as the task's document.
CREATE TABLE task_index (
    task_id           TEXT PRIMARY KEY REFERENCES tasks(id),
    code              TEXT NOT NULL,
    subject_name      TEXT NOT NULL,
    uscc              TEXT NOT NULL,
    -- the status's snake_case name; NULL for a document without a valid 'assigned' event
    status            TEXT,
    team              TEXT NOT NULL,
    -- department codes and inspector ids, each between spaces (' A B '), for instr()
    departments       TEXT NOT NULL,
    lead_department   TEXT NOT NULL,
    inspectors        TEXT NOT NULL,
    window_start      INTEGER NOT NULL,
    due               INTEGER NOT NULL,
    joint             INTEGER NOT NULL,
    open_conflicts    INTEGER NOT NULL,
    evidence          INTEGER NOT NULL,
    findings          INTEGER NOT NULL,
    rectification_due INTEGER,
    updated_at        INTEGER NOT NULL
) STRICT;
CREATE INDEX task_index_team_status ON task_index (team, status);
CREATE INDEX task_index_due ON task_index (due);
CREATE INDEX task_index_updated ON task_index (updated_at);
CREATE INDEX task_index_uscc ON task_index (uscc);
CREATE INDEX task_index_rectification ON task_index (rectification_due) WHERE rectification_due IS NOT NULL;
-- Search on the subject's name, its USCC and the task code: trigrams of
-- each row's text, keyed by the index row's rowid (contentless: the text
-- lives in task_index). Searches shorter than three characters scan instead.
CREATE VIRTUAL TABLE task_search USING fts5(
    text, content = '', contentless_delete = 1, tokenize = 'trigram'
);
