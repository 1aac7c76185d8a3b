DROP INDEX IF EXISTS lp_audit_events_outcome_age;
DROP INDEX IF EXISTS lp_audit_events_coalesce;
ALTER TABLE lp_audit_events DROP COLUMN coalesce_key;
ALTER TABLE lp_audit_events DROP COLUMN recorded_ms;
ALTER TABLE lp_audit_events DROP COLUMN occurrences;
