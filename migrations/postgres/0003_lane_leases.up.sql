-- Lane leases: an in-request mutation (a synchronous driver action that
-- deploys, promotes or rolls back) holds its product lane here while it
-- runs. Durable operations reserve lanes in lp_operations; both check the
-- other under one per-lane serialisation (records/lane_leases.rs). A lease
-- that outlives its host expires at `expires_at` (unix milliseconds).
CREATE TABLE lp_lane_leases (
    product TEXT NOT NULL,
    context TEXT NOT NULL,
    instance TEXT NOT NULL,
    lease_id TEXT NOT NULL UNIQUE,
    driver_id TEXT NOT NULL,
    action_id TEXT NOT NULL,
    trace_id TEXT NOT NULL,
    owner TEXT NOT NULL,
    acquired_at TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (product, context, instance)
);
