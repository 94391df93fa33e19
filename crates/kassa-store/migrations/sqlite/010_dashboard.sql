-- 010_dashboard: Kind::DashboardSession, the dashboard's sign-ins and one-time sign-in links.
-- The id is the SHA-256 of the cookie's (or link's) token, found by id alone; `expires_at` (moved
-- on by use) is when it stops signing in, and the sweep deletes it.

CREATE TABLE dashboard_sessions (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id TEXT NOT NULL,
    id         TEXT NOT NULL,
    created    INTEGER NOT NULL,
    data       TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    UNIQUE (account_id, id)
);
CREATE INDEX dashboard_sessions_account_seq ON dashboard_sessions(account_id, seq);
CREATE INDEX dashboard_sessions_by_id ON dashboard_sessions (id);
CREATE INDEX dashboard_sessions_expires_at ON dashboard_sessions(expires_at);
