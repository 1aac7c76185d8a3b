-- Browser sessions of GitHub-signed-in humans (auth/human/). The cookie
-- carries the session id; only its SHA-256 is stored, so a database read
-- never yields a usable cookie. `expires_ms` is unix milliseconds: an
-- expired row is deleted when it is read.
CREATE TABLE launchplane_human_sessions (
    session_sha256 TEXT PRIMARY KEY,
    identity TEXT NOT NULL,
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_ms INTEGER NOT NULL
);
CREATE INDEX launchplane_human_sessions_expiry ON launchplane_human_sessions (expires_ms);
