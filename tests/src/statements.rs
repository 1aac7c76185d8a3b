//! Counts the SQL statements and commits a piece of work sends, from
//! sqlx's own statement events (target `sqlx::query`): every statement a
//! connection executes is one event, `COMMIT` included. sqlx sends a
//! transaction's `BEGIN` with its first statement and logs no event for
//! it; the host logs one when it opens a transaction
//! ([`launchplane::records::TX_TARGET`]), counted here as a statement.
//! Nothing the database does inside a statement (a trigger, say) counts.
//!
//! A [`StatementLog`] is a `tracing` layer. Tests install it for their
//! own thread ([`StatementLog::scoped`]; on a current-thread runtime a
//! PostgreSQL connection runs on the test's thread, so other tests'
//! statements never count); the benchmark installs it process-wide and
//! turns it on only for its counting phase.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use launchplane::records::TX_TARGET;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

/// Where sqlx logs each executed statement.
pub const TARGET: &str = "sqlx::query";

/// The statements seen while on, in order.
#[derive(Debug, Clone, Default)]
pub struct StatementLog {
    on: Arc<AtomicBool>,
    seen: Arc<Mutex<Vec<String>>>,
}

/// Statements and transactions of a stretch of work.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// Every statement sent, `BEGIN` and `COMMIT` included.
    pub statements: usize,
    /// Transactions committed: each `COMMIT`, and each statement sent
    /// outside an explicit transaction (an implicit one).
    pub commits: usize,
}

impl StatementLog {
    /// A log that is on, installed as this thread's subscriber until the
    /// guard drops.
    pub fn scoped() -> (StatementLog, tracing::subscriber::DefaultGuard) {
        use tracing_subscriber::prelude::*;
        let log = StatementLog::default();
        log.set_on(true);
        let subscriber = tracing_subscriber::registry().with(log.clone());
        (log, tracing::subscriber::set_default(subscriber))
    }

    /// A per-layer filter: only sqlx statements, only while on.
    pub fn filter<S>(&self) -> impl tracing_subscriber::layer::Filter<S> + use<S> {
        let on = self.on.clone();
        tracing_subscriber::filter::filter_fn(move |m| {
            (m.target() == TARGET || m.target() == TX_TARGET) && on.load(Ordering::Relaxed)
        })
    }

    pub fn set_on(&self, on: bool) {
        self.on.store(on, Ordering::Relaxed);
    }

    /// Takes the statements seen so far, each on one line.
    pub fn take(&self) -> Vec<String> {
        match self.seen.lock() {
            Ok(mut guard) => std::mem::take(&mut *guard),
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        }
    }

    /// Counts `statements` (as [`StatementLog::take`] returns them).
    pub fn tally(statements: &[String]) -> Tally {
        let mut tally = Tally::default();
        let mut in_transaction = false;
        for statement in statements {
            let word = first_word(statement);
            tally.statements += 1;
            match word.as_str() {
                "BEGIN" => in_transaction = true,
                "COMMIT" => {
                    in_transaction = false;
                    tally.commits += 1;
                }
                "ROLLBACK" => in_transaction = false,
                _ if !in_transaction => tally.commits += 1,
                _ => {}
            }
        }
        tally
    }
}

/// The statement's first word, upper-case (`BEGIN`, `COMMIT`, `INSERT`…).
fn first_word(statement: &str) -> String {
    statement
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_ascii_uppercase()
}

/// `statements` grouped by transaction, in order: `BEGIN` to `COMMIT` (or
/// `ROLLBACK`) as one group, and each statement outside a transaction as
/// a group of its own.
pub fn transactions(statements: &[String]) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = Vec::new();
    let mut open = false;
    for statement in statements {
        let word = first_word(statement);
        if word == "BEGIN" || !open {
            out.push(Vec::new());
        }
        if let Some(last) = out.last_mut() {
            last.push(statement.clone());
        }
        open = match word.as_str() {
            "BEGIN" => true,
            "COMMIT" | "ROLLBACK" => false,
            _ => open,
        };
    }
    out
}

/// sqlx's `summary` (the first words) and `db.statement` (the whole
/// text, empty when the summary is all of it).
#[derive(Default)]
struct Summary {
    summary: String,
    statement: String,
    /// The `BEGIN` of a transaction the host opened.
    opened: String,
}

impl Summary {
    fn set(&mut self, field: &Field, value: String) {
        match field.name() {
            "summary" => self.summary = value,
            "db.statement" => self.statement = value,
            "statement" => self.opened = value,
            _ => {}
        }
    }

    /// The whole statement on one line.
    fn text(self) -> String {
        let text = if self.statement.trim().is_empty() {
            self.summary
        } else {
            self.statement
        };
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

impl Visit for Summary {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.set(field, value.to_string());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.set(field, format!("{value:?}").trim_matches('"').to_string());
    }
}

impl<S: Subscriber> Layer<S> for StatementLog {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let target = event.metadata().target();
        if (target != TARGET && target != TX_TARGET) || !self.on.load(Ordering::Relaxed) {
            return;
        }
        let mut summary = Summary::default();
        event.record(&mut summary);
        let text = if target == TX_TARGET {
            summary.opened
        } else {
            summary.text()
        };
        match self.seen.lock() {
            Ok(mut guard) => guard.push(text),
            Err(poisoned) => poisoned.into_inner().push(text),
        }
    }
}
