-- The console's people (supervisors and administrators) and their sessions.
CREATE TABLE console_users (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    -- 'supervisor' or 'admin'
    role            TEXT NOT NULL,
    -- the teams a supervisor acts for, as a JSON array of team ids
    teams           TEXT NOT NULL,
    -- argon2id, PHC string
    password_hash   TEXT NOT NULL,
    -- failed logins since the last success, and until when the account is locked
    failed_logins   INTEGER NOT NULL DEFAULT 0,
    locked_until    INTEGER,
    created_at      INTEGER NOT NULL
) STRICT;
CREATE TABLE console_sessions (
    -- SHA-256 of the session cookie's value; the value itself is not kept
    token_hash  TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES console_users(id),
    -- what every state-changing request must echo in X-CSRF-Token
    csrf        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX console_sessions_user ON console_sessions (user_id);
