//! Durable asynchronous operations and lane reservations.
//!
//! An operation is `pending` when created, `running` while a worker holds
//! its lease, and ends `pass` or `fail`. A partial unique index allows one
//! pending-or-running operation per product lane, so two hosts can never
//! run conflicting mutations on one lane. Workers claim with `FOR UPDATE
//! SKIP LOCKED` on PostgreSQL (SQLite serialises writers) and heartbeat to
//! extend their lease; an expired lease is reclaimed for another attempt
//! or failed with a reason once attempts are spent, so no operation stays
//! `running` forever after a crash.

use serde::Serialize;
use serde_json::Value;
use sqlx::Row;

use super::{Store, StoreError, lane_leases, on_pool, unix_millis};

/// Lifecycle status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OperationStatus {
    Pending,
    Running,
    Pass,
    Fail,
}

impl OperationStatus {
    fn parse(s: &str) -> Result<Self, StoreError> {
        Ok(match s {
            "pending" => OperationStatus::Pending,
            "running" => OperationStatus::Running,
            "pass" => OperationStatus::Pass,
            "fail" => OperationStatus::Fail,
            other => {
                return Err(StoreError::Corrupt {
                    what: "operation status".into(),
                    reason: other.into(),
                });
            }
        })
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, OperationStatus::Pass | OperationStatus::Fail)
    }
}

/// An operation record, as `GET /v1/operations/{id}` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Operation {
    pub operation_id: String,
    pub product: String,
    pub context: String,
    pub instance: String,
    pub driver_id: String,
    pub action_id: String,
    pub status: OperationStatus,
    pub phase: String,
    pub request: Value,
    pub result: Option<Value>,
    pub error_code: String,
    pub error_message: String,
    pub lease_owner: String,
    pub lease_expires_at: i64,
    pub heartbeat_at: String,
    pub attempt: i64,
    pub idempotency_key: String,
    pub trace_id: String,
    pub caller: Value,
    pub created_at: String,
    pub updated_at: String,
    pub started_at: String,
    pub finished_at: String,
}

/// What a new operation needs.
#[derive(Debug, Clone, PartialEq)]
pub struct NewOperation {
    pub operation_id: String,
    pub product: String,
    pub context: String,
    pub instance: String,
    pub driver_id: String,
    pub action_id: String,
    pub request: Value,
    pub idempotency_key: String,
    pub trace_id: String,
    pub caller: Value,
}

const COLUMNS: &str = "operation_id, product, context, instance, driver_id, action_id, status, phase, request, result, \
     error_code, error_message, lease_owner, lease_expires_at, heartbeat_at, attempt, idempotency_key, trace_id, caller, \
     created_at, updated_at, started_at, finished_at";

fn json(what: &str, text: &str) -> Result<Value, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt {
        what: what.to_string(),
        reason: e.to_string(),
    })
}

macro_rules! operation_from_row {
    ($row:expr) => {{
        let row = $row;
        let result: Option<String> = row.try_get(9)?;
        let attempt: i64 = row.try_get::<i64, _>(15)?;
        Operation {
            operation_id: row.try_get(0)?,
            product: row.try_get(1)?,
            context: row.try_get(2)?,
            instance: row.try_get(3)?,
            driver_id: row.try_get(4)?,
            action_id: row.try_get(5)?,
            status: OperationStatus::parse(&row.try_get::<String, _>(6)?)?,
            phase: row.try_get(7)?,
            request: json("operation request", &row.try_get::<String, _>(8)?)?,
            result: result
                .as_deref()
                .map(|r| json("operation result", r))
                .transpose()?,
            error_code: row.try_get(10)?,
            error_message: row.try_get(11)?,
            lease_owner: row.try_get(12)?,
            lease_expires_at: row.try_get(13)?,
            heartbeat_at: row.try_get(14)?,
            attempt,
            idempotency_key: row.try_get(16)?,
            trace_id: row.try_get(17)?,
            caller: json("operation caller", &row.try_get::<String, _>(18)?)?,
            created_at: row.try_get(19)?,
            updated_at: row.try_get(20)?,
            started_at: row.try_get(21)?,
            finished_at: row.try_get(22)?,
        }
    }};
}

/// What `create_operation` found, decided inside its transaction.
enum Enqueued {
    Pending,
    LaneBusy,
    Leased(Box<super::LaneLease>),
}

fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.is_unique_violation())
}

impl Store {
    /// Creates a pending operation, reserving its lane. A lane that already
    /// has an active operation refuses with [`StoreError::LaneBusy`]; one
    /// leased by an in-request mutation with [`StoreError::LaneLeased`].
    pub async fn create_operation(&self, new: &NewOperation) -> Result<Operation, StoreError> {
        let now = crate::time::now_rfc3339();
        let begin = self.write_transaction();
        // The lane's lock (PostgreSQL) or the write lock (SQLite) orders
        // this against `acquire_lane`: neither can miss the other's row.
        let enqueued: Enqueued = on_pool!(self, pool => {
            let mut tx = pool.begin_with(begin).await?;
            lane_leases::lock_lane!(self, tx, &new.product, &new.context, &new.instance);
            let inserted = sqlx::query(
                "INSERT INTO lp_operations (operation_id, product, context, instance, driver_id, action_id, status, phase, \
                 request, idempotency_key, trace_id, caller, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, 'pending', 'created', $7, $8, $9, $10, $11, $12)",
            )
            .bind(&new.operation_id)
            .bind(&new.product)
            .bind(&new.context)
            .bind(&new.instance)
            .bind(&new.driver_id)
            .bind(&new.action_id)
            .bind(new.request.to_string())
            .bind(&new.idempotency_key)
            .bind(&new.trace_id)
            .bind(new.caller.to_string())
            .bind(&now)
            .bind(&now)
            .execute(&mut *tx)
            .await;
            match inserted {
                Err(error) if is_unique_violation(&error) => Enqueued::LaneBusy,
                Err(error) => return Err(error.into()),
                Ok(_) => {
                    let holder = sqlx::query(lane_leases::LIVE_LEASE)
                        .bind(&new.product)
                        .bind(&new.context)
                        .bind(&new.instance)
                        .bind(unix_millis())
                        .fetch_optional(&mut *tx)
                        .await?;
                    match holder {
                        Some(row) => Enqueued::Leased(Box::new(lane_leases::lease_from_row!(row))),
                        None => {
                            tx.commit().await?;
                            Enqueued::Pending
                        }
                    }
                }
            }
        });
        match enqueued {
            Enqueued::Pending => {
                self.get_operation(&new.operation_id)
                    .await?
                    .ok_or_else(|| StoreError::Corrupt {
                        what: "operation".into(),
                        reason: "vanished after insert".into(),
                    })
            }
            Enqueued::LaneBusy => {
                let active = self
                    .active_operation(&new.product, &new.context, &new.instance)
                    .await?;
                Err(StoreError::LaneBusy {
                    product: new.product.clone(),
                    context: new.context.clone(),
                    instance: new.instance.clone(),
                    operation_id: active.map(|o| o.operation_id).unwrap_or_default(),
                })
            }
            Enqueued::Leased(holder) => Err(StoreError::LaneLeased { holder }),
        }
    }

    pub async fn get_operation(&self, operation_id: &str) -> Result<Option<Operation>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM lp_operations WHERE operation_id = $1");
        on_pool!(self, pool => {
            match sqlx::query(sqlx::AssertSqlSafe(sql)).bind(operation_id).fetch_optional(pool).await? {
                Some(row) => Ok(Some(operation_from_row!(row))),
                None => Ok(None),
            }
        })
    }

    /// The pending or running operation on a lane, if any.
    pub async fn active_operation(
        &self,
        product: &str,
        context: &str,
        instance: &str,
    ) -> Result<Option<Operation>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM lp_operations WHERE product = $1 AND context = $2 AND instance = $3 \
             AND status IN ('pending', 'running')"
        );
        on_pool!(self, pool => {
            match sqlx::query(sqlx::AssertSqlSafe(sql)).bind(product).bind(context).bind(instance).fetch_optional(pool).await? {
                Some(row) => Ok(Some(operation_from_row!(row))),
                None => Ok(None),
            }
        })
    }

    /// The pending and running operations in one context, oldest first.
    pub async fn active_operations_in(&self, context: &str) -> Result<Vec<Operation>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM lp_operations WHERE context = $1 AND status IN ('pending', 'running') \
             ORDER BY created_at, operation_id"
        );
        on_pool!(self, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(context).fetch_all(pool).await?;
            rows.into_iter()
                .map(|row| -> Result<Operation, StoreError> { Ok(operation_from_row!(row)) })
                .collect()
        })
    }

    /// Claims the oldest pending operation, or a running one whose lease
    /// expired, for `owner` until `lease_ms` from now. Operations whose
    /// lease expired on their last allowed attempt are failed instead.
    pub async fn claim_operation(
        &self,
        owner: &str,
        lease_ms: i64,
        max_attempts: i64,
    ) -> Result<Option<Operation>, StoreError> {
        let now = unix_millis();
        let stamp = crate::time::now_rfc3339();
        // Expired leases that used their attempts fail with a reason.
        on_pool!(self, pool => {
            sqlx::query(
                "UPDATE lp_operations SET status = 'fail', phase = 'failed', error_code = 'operation_lease_expired', \
                 error_message = 'The host running this operation stopped before it finished (lease expired after the last attempt).', \
                 lease_owner = '', finished_at = $1, updated_at = $2 \
                 WHERE status = 'running' AND lease_expires_at < $3 AND attempt >= $4",
            )
            .bind(&stamp)
            .bind(&stamp)
            .bind(now)
            .bind(max_attempts)
            .execute(pool)
            .await?
            .rows_affected()
        });
        let pick = "SELECT operation_id FROM lp_operations \
                    WHERE status = 'pending' OR (status = 'running' AND lease_expires_at < $5) \
                    ORDER BY created_at, operation_id LIMIT 1";
        let sql = match self {
            Store::Postgres(_) => format!(
                "UPDATE lp_operations SET status = 'running', phase = 'running', lease_owner = $1, lease_expires_at = $2, \
                 heartbeat_at = $3, attempt = attempt + 1, started_at = CASE WHEN started_at = '' THEN $4 ELSE started_at END, \
                 updated_at = $4 WHERE operation_id = ({pick} FOR UPDATE SKIP LOCKED) RETURNING {COLUMNS}"
            ),
            Store::Sqlite(_) => format!(
                "UPDATE lp_operations SET status = 'running', phase = 'running', lease_owner = $1, lease_expires_at = $2, \
                 heartbeat_at = $3, attempt = attempt + 1, started_at = CASE WHEN started_at = '' THEN $4 ELSE started_at END, \
                 updated_at = $4 WHERE operation_id = ({pick}) RETURNING {COLUMNS}"
            ),
        };
        on_pool!(self, pool => {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(owner)
                .bind(now + lease_ms)
                .bind(&stamp)
                .bind(&stamp)
                .bind(now)
                .fetch_optional(pool)
                .await?;
            match row {
                Some(row) => Ok(Some(operation_from_row!(row))),
                None => Ok(None),
            }
        })
    }

    /// Extends the lease of an operation this owner holds; false when the
    /// lease was lost (another host reclaimed it).
    pub async fn heartbeat_operation(
        &self,
        operation_id: &str,
        owner: &str,
        lease_ms: i64,
        phase: &str,
    ) -> Result<bool, StoreError> {
        let now = unix_millis();
        let stamp = crate::time::now_rfc3339();
        let updated = on_pool!(self, pool => {
            sqlx::query(
                "UPDATE lp_operations SET lease_expires_at = $1, heartbeat_at = $2, phase = $3, updated_at = $4 \
                 WHERE operation_id = $5 AND lease_owner = $6 AND status = 'running'",
            )
            .bind(now + lease_ms)
            .bind(&stamp)
            .bind(phase)
            .bind(&stamp)
            .bind(operation_id)
            .bind(owner)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(updated == 1)
    }

    /// Finishes an operation this owner holds: `pass` with a result or
    /// `fail` with an error code and message.
    pub async fn finish_operation(
        &self,
        operation_id: &str,
        owner: &str,
        status: OperationStatus,
        result: Option<&Value>,
        error: Option<(&str, &str)>,
    ) -> Result<bool, StoreError> {
        if !status.is_terminal() {
            return Err(StoreError::Corrupt {
                what: "operation finish".into(),
                reason: "status must be pass or fail".into(),
            });
        }
        let stamp = crate::time::now_rfc3339();
        let (code, message) = error.unwrap_or(("", ""));
        let status_text = if status == OperationStatus::Pass {
            "pass"
        } else {
            "fail"
        };
        let phase = if status == OperationStatus::Pass {
            "completed"
        } else {
            "failed"
        };
        let updated = on_pool!(self, pool => {
            sqlx::query(
                "UPDATE lp_operations SET status = $1, phase = $2, result = $3, error_code = $4, error_message = $5, \
                 lease_owner = '', lease_expires_at = 0, finished_at = $6, updated_at = $7 \
                 WHERE operation_id = $8 AND lease_owner = $9 AND status = 'running'",
            )
            .bind(status_text)
            .bind(phase)
            .bind(result.map(Value::to_string))
            .bind(code)
            .bind(message)
            .bind(&stamp)
            .bind(&stamp)
            .bind(operation_id)
            .bind(owner)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(updated == 1)
    }
}
