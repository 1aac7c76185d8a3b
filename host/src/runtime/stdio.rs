//! Guest output: component stdout/stderr, forwarded line by line to
//! `tracing`, and the budget every guest line is charged to.
//!
//! Drivers have no terminal; whatever they print, and every `log::emit`
//! line, becomes a log line tagged with the driver id and trace id. Lines
//! are cut at [`MAX_LINE`] bytes so a driver cannot make the host buffer
//! unbounded output, and one invocation's output (stdout, stderr and
//! `log::emit` together) is capped by an [`OutputBudget`]: past
//! [`OutputLimits`], one marker line says the output was cut and the rest
//! is dropped; when the invocation ends, one more line counts what was
//! dropped.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};

/// The longest guest line logged; longer lines are split (stdout/stderr)
/// or cut (`log::emit`).
pub const MAX_LINE: usize = 4096;

/// How much one invocation may log, across stdout, stderr and `log::emit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputLimits {
    /// Lines logged per invocation.
    pub lines: usize,
    /// Bytes of message text logged per invocation.
    pub bytes: usize,
}

impl OutputLimits {
    /// 1,000 lines per invocation.
    pub const DEFAULT_LINES: usize = 1_000;
    /// 256 KiB per invocation.
    pub const DEFAULT_BYTES: usize = 256 * 1024;
}

impl Default for OutputLimits {
    fn default() -> Self {
        OutputLimits {
            lines: Self::DEFAULT_LINES,
            bytes: Self::DEFAULT_BYTES,
        }
    }
}

/// What to do with one guest line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    /// Log it.
    Log,
    /// The budget just ran out: log the marker line instead (once per
    /// invocation).
    Cut,
    /// Drop it: the marker was already logged.
    Drop,
}

/// One invocation's output budget, shared by its stdout, stderr and
/// `log::emit`. Cloning shares the budget.
#[derive(Clone)]
pub struct OutputBudget {
    inner: Arc<Mutex<Budget>>,
}

struct Budget {
    limits: OutputLimits,
    lines: usize,
    bytes: usize,
    cut: bool,
    dropped_lines: usize,
    dropped_bytes: usize,
    driver_id: Arc<str>,
    trace_id: Arc<str>,
}

impl OutputBudget {
    /// A fresh budget for one invocation of `driver_id`.
    pub fn new(limits: OutputLimits, driver_id: Arc<str>, trace_id: Arc<str>) -> Self {
        OutputBudget {
            inner: Arc::new(Mutex::new(Budget {
                limits,
                lines: 0,
                bytes: 0,
                cut: false,
                dropped_lines: 0,
                dropped_bytes: 0,
                driver_id,
                trace_id,
            })),
        }
    }

    /// Charges one line of `len` bytes and says what to do with it.
    pub fn admit(&self, len: usize) -> Admit {
        let mut budget = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if !budget.cut
            && budget.lines < budget.limits.lines
            && budget.bytes.saturating_add(len) <= budget.limits.bytes
        {
            budget.lines += 1;
            budget.bytes += len;
            return Admit::Log;
        }
        budget.dropped_lines += 1;
        budget.dropped_bytes = budget.dropped_bytes.saturating_add(len);
        if budget.cut {
            Admit::Drop
        } else {
            budget.cut = true;
            Admit::Cut
        }
    }

    /// Logs `text` at `level` when the budget admits it, or the marker line
    /// when it has just run out.
    pub fn log(&self, level: tracing::Level, stream: &'static str, text: &str) {
        let (driver_id, trace_id, limits) = {
            let budget = self.inner.lock().unwrap_or_else(|p| p.into_inner());
            (
                budget.driver_id.clone(),
                budget.trace_id.clone(),
                budget.limits,
            )
        };
        let (driver_id, trace_id) = (&*driver_id, &*trace_id);
        match self.admit(text.len()) {
            Admit::Log => match level {
                tracing::Level::TRACE => tracing::trace!(driver_id, trace_id, stream, "{text}"),
                tracing::Level::DEBUG => tracing::debug!(driver_id, trace_id, stream, "{text}"),
                tracing::Level::INFO => tracing::info!(driver_id, trace_id, stream, "{text}"),
                tracing::Level::WARN => tracing::warn!(driver_id, trace_id, stream, "{text}"),
                tracing::Level::ERROR => tracing::error!(driver_id, trace_id, stream, "{text}"),
            },
            Admit::Cut => tracing::warn!(
                driver_id,
                trace_id,
                max_lines = limits.lines,
                max_bytes = limits.bytes,
                "driver output cut: this invocation reached its output limit; \
                 the rest of its output is dropped"
            ),
            Admit::Drop => {}
        }
    }
}

impl Drop for Budget {
    fn drop(&mut self) {
        if self.dropped_lines > 0 {
            tracing::warn!(
                driver_id = %self.driver_id,
                trace_id = %self.trace_id,
                dropped_lines = self.dropped_lines,
                dropped_bytes = self.dropped_bytes,
                "driver output dropped past the invocation's output limit"
            );
        }
    }
}

/// `text` cut to at most `max` bytes, on a character boundary.
pub fn cut_line(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Which stream a line came from.
#[derive(Debug, Clone, Copy)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// A `StdoutStream` that logs instead of writing to the process's stdio.
#[derive(Clone)]
pub struct LogStream {
    budget: OutputBudget,
    stream: Stream,
}

impl LogStream {
    /// A stream whose lines are charged to `budget`.
    pub fn new(budget: OutputBudget, stream: Stream) -> Self {
        LogStream { budget, stream }
    }
}

impl IsTerminal for LogStream {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for LogStream {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(LineWriter {
            target: self.clone(),
            line: Vec::new(),
        })
    }
}

struct LineWriter {
    target: LogStream,
    line: Vec<u8>,
}

impl LineWriter {
    fn emit(&mut self) {
        if self.line.is_empty() {
            return;
        }
        let text = String::from_utf8_lossy(&self.line);
        let text = text.trim_end();
        match self.target.stream {
            Stream::Stdout => self.target.budget.log(tracing::Level::INFO, "stdout", text),
            Stream::Stderr => self.target.budget.log(tracing::Level::WARN, "stderr", text),
        }
        self.line.clear();
    }
}

impl AsyncWrite for LineWriter {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        for &byte in buf {
            if byte == b'\n' || this.line.len() >= MAX_LINE {
                this.emit();
            }
            if byte != b'\n' {
                this.line.push(byte);
            }
        }
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.get_mut().emit();
        Poll::Ready(Ok(()))
    }
}

impl Drop for LineWriter {
    fn drop(&mut self) {
        self.emit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(lines: usize, bytes: usize) -> OutputBudget {
        OutputBudget::new(OutputLimits { lines, bytes }, "d".into(), "t".into())
    }

    #[test]
    fn lines_past_the_line_cap_are_cut_once_then_dropped() {
        let budget = budget(3, 1_000);
        let admitted: Vec<Admit> = (0..6).map(|_| budget.admit(10)).collect();
        assert_eq!(
            admitted,
            [
                Admit::Log,
                Admit::Log,
                Admit::Log,
                Admit::Cut,
                Admit::Drop,
                Admit::Drop
            ]
        );
    }

    #[test]
    fn bytes_past_the_byte_cap_are_cut_and_nothing_after_is_logged() {
        let budget = budget(1_000, 25);
        assert_eq!(budget.admit(10), Admit::Log);
        assert_eq!(budget.admit(10), Admit::Log);
        // 30 > 25: cut, and a later short line stays dropped (no holes).
        assert_eq!(budget.admit(10), Admit::Cut);
        assert_eq!(budget.admit(1), Admit::Drop);
    }

    #[test]
    fn clones_share_one_budget_across_streams() {
        let stdout = budget(2, 1_000);
        let stderr = stdout.clone();
        assert_eq!(stdout.admit(1), Admit::Log);
        assert_eq!(stderr.admit(1), Admit::Log);
        assert_eq!(stdout.admit(1), Admit::Cut);
        assert_eq!(stderr.admit(1), Admit::Drop);
    }

    #[tokio::test]
    async fn a_flooding_writer_charges_every_line() {
        use tokio::io::AsyncWriteExt as _;
        let shared = budget(5, 1_000_000);
        let mut writer =
            Box::into_pin(LogStream::new(shared.clone(), Stream::Stdout).async_stream());
        let flood = "spam\n".repeat(10_000);
        writer.write_all(flood.as_bytes()).await.expect("write");
        drop(writer);
        // 5 logged, 1 cut, and every later line dropped.
        assert_eq!(shared.admit(1), Admit::Drop);
        let state = shared.inner.lock().expect("lock");
        assert_eq!(state.lines, 5);
        assert_eq!(state.dropped_lines, 10_000 - 5 + 1);
    }

    #[test]
    fn long_lines_are_cut_on_a_character_boundary() {
        assert_eq!(cut_line("abc", 10), "abc");
        assert_eq!(cut_line("abcdef", 4), "abcd");
        // "é" is two bytes: a cut inside it backs off.
        assert_eq!(cut_line("aé", 2), "a");
    }
}
