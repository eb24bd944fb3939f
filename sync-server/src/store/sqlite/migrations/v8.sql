-- Device tokens get a lifetime and are replaced on sync: when the current
-- token was issued, and the token it replaced, still accepted until
-- `prev_token_until` (a tablet whose answer with the new token was lost
-- keeps working, and is given another new one).
ALTER TABLE devices ADD COLUMN token_issued_at INTEGER;
UPDATE devices SET token_issued_at = created_at;
ALTER TABLE devices ADD COLUMN prev_token_hash TEXT;
ALTER TABLE devices ADD COLUMN prev_token_until INTEGER;
CREATE UNIQUE INDEX devices_prev_token ON devices (prev_token_hash)
    WHERE prev_token_hash IS NOT NULL;
