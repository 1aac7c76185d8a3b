DROP TABLE IF EXISTS lp_audit_events;
DROP TABLE IF EXISTS lp_operations;
DROP TABLE IF EXISTS lp_idempotency;
DROP TABLE IF EXISTS lp_record_history;
DROP TABLE IF EXISTS lp_records;
