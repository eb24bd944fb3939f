-- A task's document is stored as a snapshot and the changes of the feed
-- entries written after it: a push stores only what it added (its
-- `feed_changes` row) instead of saving the whole document again. The
-- snapshot holds every feed entry up to `snapshot_seq`; the document is
-- `doc` followed by the `feed_changes` of the task's later entries, in
-- order. Every document stored before V16 is whole.
ALTER TABLE tasks ADD COLUMN snapshot_seq INTEGER NOT NULL DEFAULT 0;
UPDATE tasks SET snapshot_seq = coalesce((SELECT max(seq) FROM feed WHERE feed.task_id = tasks.id), 0);
