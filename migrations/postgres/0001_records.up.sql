-- Records: one row per record (current version), every version kept in
-- lp_record_history. Documents are JSON text; key columns are indexed.
CREATE TABLE lp_records (
    seq BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL,
    record_id TEXT NOT NULL,
    product TEXT NOT NULL DEFAULT '',
    context TEXT NOT NULL DEFAULT '',
    instance TEXT NOT NULL DEFAULT '',
    recorded_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    document TEXT NOT NULL,
    UNIQUE (kind, record_id)
);
CREATE INDEX lp_records_lane ON lp_records (kind, context, instance, seq);
CREATE INDEX lp_records_product ON lp_records (kind, product, seq);

CREATE TABLE lp_record_history (
    seq BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL,
    record_id TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    trace_id TEXT NOT NULL DEFAULT '',
    document TEXT NOT NULL
);
CREATE INDEX lp_record_history_record ON lp_record_history (kind, record_id, seq);

-- Idempotency keys are reserved before an action runs (state in_progress,
-- with a lease a crashed host's reservation expires by) and completed with
-- the stored response.
CREATE TABLE lp_idempotency (
    scope TEXT NOT NULL,
    route_path TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    request_fingerprint TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('in_progress', 'complete')),
    owner TEXT NOT NULL,
    lease_expires_at BIGINT NOT NULL,
    response_status BIGINT,
    response_body TEXT,
    response_trace_id TEXT,
    created_at TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (scope, route_path, idempotency_key)
);
CREATE INDEX lp_idempotency_expiry ON lp_idempotency (expires_at);

-- Durable asynchronous operations; at most one active per lane, enforced
-- by the database.
CREATE TABLE lp_operations (
    operation_id TEXT PRIMARY KEY,
    product TEXT NOT NULL,
    context TEXT NOT NULL,
    instance TEXT NOT NULL,
    driver_id TEXT NOT NULL,
    action_id TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'pass', 'fail')),
    phase TEXT NOT NULL,
    request TEXT NOT NULL,
    result TEXT,
    error_code TEXT NOT NULL DEFAULT '',
    error_message TEXT NOT NULL DEFAULT '',
    lease_owner TEXT NOT NULL DEFAULT '',
    lease_expires_at BIGINT NOT NULL DEFAULT 0,
    heartbeat_at TEXT NOT NULL DEFAULT '',
    attempt BIGINT NOT NULL DEFAULT 0,
    idempotency_key TEXT NOT NULL DEFAULT '',
    trace_id TEXT NOT NULL,
    caller TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    started_at TEXT NOT NULL DEFAULT '',
    finished_at TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX lp_operations_one_active_per_lane
    ON lp_operations (product, context, instance) WHERE status IN ('pending', 'running');
CREATE INDEX lp_operations_claim ON lp_operations (status, created_at);

CREATE TABLE lp_audit_events (
    seq BIGSERIAL PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    recorded_at TEXT NOT NULL,
    trace_id TEXT NOT NULL,
    caller_kind TEXT NOT NULL,
    caller_subject TEXT NOT NULL,
    caller_claims TEXT NOT NULL,
    method TEXT NOT NULL,
    route TEXT NOT NULL,
    action TEXT NOT NULL,
    product TEXT NOT NULL,
    context TEXT NOT NULL,
    instance TEXT NOT NULL,
    outcome TEXT NOT NULL,
    status_code BIGINT NOT NULL,
    record_ids TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX lp_audit_events_lane ON lp_audit_events (context, instance, seq);
