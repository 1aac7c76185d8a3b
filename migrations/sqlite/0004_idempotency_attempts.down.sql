ALTER TABLE lp_idempotency DROP COLUMN interrupted_at;
ALTER TABLE lp_idempotency DROP COLUMN effect_started_at;
ALTER TABLE lp_idempotency DROP COLUMN attempt_trace_id;
