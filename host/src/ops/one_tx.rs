//! A pure-database mutation in one transaction on one connection: its
//! record writes and derived state, its idempotency answer and its audit
//! event commit together, or nothing does.
//!
//! The key is not reserved up front: the transaction does the work, then
//! stores the answer under the key in one upsert
//! ([`crate::records::Tx::store_idempotent_answer`]). A concurrent
//! duplicate waits on the key's row until the first commits and then
//! finds it answered; a key already answered, reserved or reused makes
//! the transaction roll back and the usual reservation
//! ([`Service::reserve`]) decide (replay or 409), so nothing a retry does
//! is ever committed twice. If the audit row cannot be written, the whole
//! mutation rolls back and the caller gets 500.
//!
//! Statements of one deployment evidence request with a key (PostgreSQL):
//! `BEGIN`, the key's answer, the audit row, the deployment insert (with
//! its history row), the inventory upsert (with its history row),
//! `COMMIT`: six, one commit (`tests/all/one_tx.rs` counts them). The
//! record writes go last ([`crate::ops::Accepted::pending`]): every
//! request of a lane updates its inventory row, and that row is locked
//! from its upsert to the commit.

use axum::http::StatusCode;
use serde_json::json;

use super::completion::{accepted_body, audit_event};
use super::idempotency::Ticket;
use super::mutation::Mutation;
use super::{Accepted, Reply, Service};
use crate::error::ApiError;
use crate::records::{IdempotencyKey, StoreError, StoredResponse, Tx, fingerprint};

/// What a mutation run in a transaction hands back: the transaction and
/// its outcome.
pub type TxOutcome = (Tx, Result<Accepted, ApiError>);

/// How [`Service::finish_tx`] ended.
enum Finish {
    Done(Reply),
    /// A fresh key was taken by another request (rolled back).
    KeyTaken,
    /// A pending record write was refused (rolled back).
    Refused(ApiError),
}

/// A refused pending record write, as the evidence routes answer it.
fn write_error(error: StoreError) -> ApiError {
    match error {
        StoreError::Conflict { kind, record_id } => ApiError::new(
            StatusCode::CONFLICT,
            "record_conflict",
            format!("Record {kind} `{record_id}` already exists with different content."),
        ),
        other => super::input::store_error(other),
    }
}

/// How the transaction's answer is kept under the request's key.
enum KeyUse<'a> {
    /// No key, or an answer the original never stored for replay.
    None,
    /// Store it under a key nobody holds (the fast path).
    Fresh(&'a IdempotencyKey, &'a str),
    /// Complete a reservation this host already holds.
    Owned(&'a IdempotencyKey),
}

impl Service {
    /// Runs `execute` in one transaction with the mutation's idempotency
    /// answer and audit event; answers 202, the stored answer of an
    /// earlier request with the same key and body, or the error.
    /// `execute` gets the transaction and hands it back with its outcome
    /// (it may run twice: see [`Service::reserve`] below).
    pub async fn run_mutation_tx<F, Fut>(
        &self,
        m: Mutation<'_>,
        mut execute: F,
    ) -> Result<Reply, ApiError>
    where
        F: FnMut(Tx) -> Fut,
        Fut: Future<Output = TxOutcome>,
    {
        let key = self.key_of(&m)?;
        let print = key.as_ref().map(|_| fingerprint(m.body));
        let tx = self.store.begin_write().await.map_err(ApiError::internal)?;
        let (tx, outcome) = execute(tx).await;
        let accepted = match outcome {
            Ok(accepted) => accepted,
            Err(error) => {
                drop(tx);
                return self.refuse_tx(&m, key.is_some(), error).await;
            }
        };
        let key_use = match (&key, &print) {
            (Some(key), Some(print)) if accepted.store_for_replay => KeyUse::Fresh(key, print),
            _ => KeyUse::None,
        };
        match self.finish_tx(&m, tx, accepted, key_use).await? {
            Finish::Done(reply) => return Ok(reply),
            Finish::Refused(error) => return self.refuse_tx(&m, key.is_some(), error).await,
            Finish::KeyTaken => {}
        }
        // The key is taken: look at it the usual way.
        let key = match self.reserve(&m).await? {
            Ticket::Replay(reply) => return Ok(reply),
            Ticket::Proceed(key) => key,
        };
        let tx = self.store.begin_write().await.map_err(ApiError::internal)?;
        let (tx, outcome) = execute(tx).await;
        match outcome {
            Ok(accepted) => {
                let key_use = match &key {
                    Some(key) => KeyUse::Owned(key),
                    None => KeyUse::None,
                };
                match self.finish_tx(&m, tx, accepted, key_use).await? {
                    Finish::Done(reply) => Ok(reply),
                    Finish::KeyTaken => {
                        Err(ApiError::internal("the idempotency reservation was lost"))
                    }
                    Finish::Refused(error) => {
                        if let Some(key) = &key {
                            self.release_quietly(key).await;
                        }
                        self.audit_refusal(&m, &error).await;
                        Err(error)
                    }
                }
            }
            Err(error) => {
                drop(tx);
                if let Some(key) = &key {
                    self.release_quietly(key).await;
                }
                self.audit_refusal(&m, &error).await;
                Err(error)
            }
        }
    }

    /// The mutation's key, or 400 when a required one is missing.
    fn key_of(&self, m: &Mutation<'_>) -> Result<Option<IdempotencyKey>, ApiError> {
        let value = match m.idempotency {
            crate::registry::Idempotency::None => None,
            _ => m.call.key.value()?,
        };
        if m.idempotency == crate::registry::Idempotency::Required && value.is_none() {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "idempotency_key_required",
                format!("Route {} requires an Idempotency-Key header.", m.call.route),
            ));
        }
        Ok(value.map(|value| IdempotencyKey {
            scope: m.call.caller.identity.subject.clone(),
            route_path: m.call.route.clone(),
            key: value.to_string(),
        }))
    }

    /// Keeps the answer under the key, appends the audit event, applies
    /// the mutation's pending record writes and commits, in that order:
    /// a taken key stops the transaction before any write, and the rows
    /// every request of a lane updates (its inventory) are locked only
    /// for the last statement and the commit.
    async fn finish_tx(
        &self,
        m: &Mutation<'_>,
        mut tx: Tx,
        accepted: Accepted,
        key_use: KeyUse<'_>,
    ) -> Result<Finish, ApiError> {
        let registry = self.registry();
        let body = accepted_body(m.call, &accepted, |key| registry.records_key(key));
        let answer = StoredResponse {
            status: 202,
            body,
            trace_id: m.call.trace_id.to_string(),
        };
        let kept = match key_use {
            KeyUse::None => true,
            KeyUse::Fresh(key, print) => tx
                .store_idempotent_answer(
                    key,
                    print,
                    &self.host_id,
                    &answer,
                    self.idempotency_ttl_ms,
                )
                .await
                .map_err(ApiError::internal)?,
            KeyUse::Owned(key) => tx
                .complete_idempotency_key(key, &self.host_id, &answer)
                .await
                .map_err(ApiError::internal)?,
        };
        if !kept {
            return Ok(Finish::KeyTaken);
        }
        let mut event = audit_event(m.call, m.action, "accepted", 202);
        event.product = m.product.to_string();
        event.context = m.context.to_string();
        event.instance = m.instance.to_string();
        event.record_ids = accepted.written;
        if let Some(detail) = accepted.audit_detail {
            event.detail = detail;
        }
        if let Err(error) = tx.append_audit_event(&event).await {
            let event = serde_json::to_string(&event).unwrap_or_default();
            tracing::error!(%error, audit_event_unwritten = %event, "could not write an audit event; the mutation is rolled back");
            return Err(ApiError::internal(
                "The audit event could not be written, so nothing was changed.",
            ));
        }
        if !accepted.pending.is_empty()
            && let Err(error) = tx
                .write_records(&accepted.pending, m.call.trace_id.as_str())
                .await
        {
            return Ok(Finish::Refused(write_error(error)));
        }
        tx.commit().await.map_err(ApiError::internal)?;
        Ok(Finish::Done(Reply {
            status: StatusCode::ACCEPTED,
            body: answer.body,
        }))
    }

    /// A failed first attempt: when the request carries a key, the key
    /// decides first (an answered key replays, a reused or running one is
    /// 409), as if it had been reserved before the work; else the error
    /// is audited and returned.
    async fn refuse_tx(
        &self,
        m: &Mutation<'_>,
        has_key: bool,
        error: ApiError,
    ) -> Result<Reply, ApiError> {
        if has_key {
            match self.reserve(m).await? {
                Ticket::Replay(reply) => return Ok(reply),
                Ticket::Proceed(Some(key)) => self.release_quietly(&key).await,
                Ticket::Proceed(None) => {}
            }
        }
        self.audit_refusal(m, &error).await;
        Err(error)
    }

    async fn release_quietly(&self, key: &IdempotencyKey) {
        if let Err(error) = self.store.release_idempotency_key(key, &self.host_id).await {
            tracing::error!(%error, "could not release an idempotency key");
        }
    }

    /// Audits a refused or failed mutation (outside any transaction).
    async fn audit_refusal(&self, m: &Mutation<'_>, error: &ApiError) {
        let outcome = if error.status.is_server_error() {
            "failed"
        } else {
            "rejected"
        };
        let mut event = audit_event(m.call, m.action, outcome, error.status.as_u16());
        event.product = m.product.to_string();
        event.context = m.context.to_string();
        event.instance = m.instance.to_string();
        event.detail = json!({"code": error.code, "message": error.message});
        self.audit(&event).await;
    }
}
