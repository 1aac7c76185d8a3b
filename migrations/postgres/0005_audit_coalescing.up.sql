-- Denials are coalesced: one row per caller identity and minute, counted
-- in `occurrences` (records/audit.rs). `coalesce_key` is set on denial
-- rows only (NULLs never collide in a unique index on either backend).
-- `recorded_ms` (unix milliseconds) lets a retention sweep delete old
-- denial rows by an index; rows written before this revision keep 0 and
-- are never swept.
ALTER TABLE lp_audit_events ADD COLUMN occurrences BIGINT NOT NULL DEFAULT 1;
ALTER TABLE lp_audit_events ADD COLUMN recorded_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE lp_audit_events ADD COLUMN coalesce_key TEXT;
CREATE UNIQUE INDEX lp_audit_events_coalesce ON lp_audit_events (coalesce_key);
CREATE INDEX lp_audit_events_outcome_age ON lp_audit_events (outcome, recorded_ms);
