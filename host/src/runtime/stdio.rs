//! Component stdout/stderr, forwarded line by line to `tracing`.
//!
//! Drivers have no terminal; whatever they print becomes a log line tagged
//! with the driver id and trace id. Lines are capped so a driver cannot make
//! the host buffer unbounded output.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};

const MAX_LINE: usize = 4096;

/// Which stream a line came from.
#[derive(Debug, Clone, Copy)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// A `StdoutStream` that logs instead of writing to the process's stdio.
#[derive(Clone)]
pub struct LogStream {
    driver_id: Arc<str>,
    trace_id: Arc<str>,
    stream: Stream,
}

impl LogStream {
    pub fn new(driver_id: Arc<str>, trace_id: Arc<str>, stream: Stream) -> Self {
        LogStream {
            driver_id,
            trace_id,
            stream,
        }
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
        let t = &self.target;
        match t.stream {
            Stream::Stdout => {
                tracing::info!(driver_id = %t.driver_id, trace_id = %t.trace_id, stream = "stdout", "{text}")
            }
            Stream::Stderr => {
                tracing::warn!(driver_id = %t.driver_id, trace_id = %t.trace_id, stream = "stderr", "{text}")
            }
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
