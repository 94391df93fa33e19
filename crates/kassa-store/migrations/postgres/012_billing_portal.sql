-- 012_billing_portal: the customer portal (issue 17). Kind::PortalConfiguration (`bpc_…`, one
-- default per account, made on first use) and Kind::PortalSession (`bps_…`): the session's URL
-- carries a random secret of which only the SHA-256 is kept; `expires_at` is 5 minutes after it
-- was made until it is opened, then an hour after it was opened.

CREATE TABLE billing_portal_configurations (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY,
    account_id TEXT NOT NULL,
    id         TEXT NOT NULL,
    created    BIGINT NOT NULL,
    data       TEXT NOT NULL,
    active     BIGINT NOT NULL,
    PRIMARY KEY (account_id, id)
);
CREATE INDEX billing_portal_configurations_account_seq ON billing_portal_configurations(account_id, seq);
CREATE INDEX billing_portal_configurations_active ON billing_portal_configurations(account_id, active, seq);

CREATE TABLE billing_portal_sessions (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY,
    account_id TEXT NOT NULL,
    id         TEXT NOT NULL,
    created    BIGINT NOT NULL,
    data       TEXT NOT NULL,
    customer   TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, id)
);
CREATE INDEX billing_portal_sessions_account_seq ON billing_portal_sessions(account_id, seq);
CREATE INDEX billing_portal_sessions_by_id ON billing_portal_sessions (id);
CREATE INDEX billing_portal_sessions_customer ON billing_portal_sessions(account_id, customer, seq);
CREATE INDEX billing_portal_sessions_expires_at ON billing_portal_sessions(expires_at);
