-- Authorization policy records: versioned, newest active wins. The
-- revision column makes grant writes compare-and-write.
CREATE TABLE lp_authz_policies (
    seq BIGSERIAL PRIMARY KEY,
    record_id TEXT NOT NULL UNIQUE,
    revision BIGINT NOT NULL UNIQUE,
    status TEXT NOT NULL CHECK (status IN ('active', 'superseded')),
    source TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    policy_sha256 TEXT NOT NULL,
    policy TEXT NOT NULL
);
CREATE UNIQUE INDEX lp_authz_policies_one_active ON lp_authz_policies (status) WHERE status = 'active';

-- Local operator tokens: stored as SHA-256, never in clear.
CREATE TABLE lp_operator_tokens (
    token_id TEXT PRIMARY KEY,
    label TEXT NOT NULL,
    token_sha256 TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked_at TEXT NOT NULL DEFAULT ''
);
