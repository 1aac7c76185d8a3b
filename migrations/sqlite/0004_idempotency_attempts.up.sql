-- Crash safety of idempotent requests (ops/idempotency.rs): which attempt
-- holds a reservation (its trace id ties it to the records it wrote), when
-- that attempt began its first effect (a provider change or a record
-- write), and when a later request found it interrupted after that point.
-- A reservation whose attempt died after its first effect is never taken
-- over: retries answer 409 `idempotency_outcome_unknown`.
ALTER TABLE lp_idempotency ADD COLUMN attempt_trace_id TEXT NOT NULL DEFAULT '';
ALTER TABLE lp_idempotency ADD COLUMN effect_started_at BIGINT;
ALTER TABLE lp_idempotency ADD COLUMN interrupted_at BIGINT;
