//! The client's terminal: stdout for the response, stderr for progress and
//! errors, stdin for `--json -`. Every write is masked: any registered
//! secret is replaced by `***` before it leaves the process.

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};

type Sink = Box<dyn Write + Send>;

/// Streams plus the secrets to mask in everything written.
pub struct Console {
    out: Mutex<Sink>,
    err: Mutex<Sink>,
    input: Mutex<Option<Box<dyn Read + Send>>>,
    masks: Mutex<Vec<String>>,
}

/// What a captured console received.
#[derive(Clone, Default)]
pub struct Captured {
    out: Arc<Mutex<Vec<u8>>>,
    err: Arc<Mutex<Vec<u8>>>,
}

impl Captured {
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.lock().map(|b| b.clone()).unwrap_or_default())
            .into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.err.lock().map(|b| b.clone()).unwrap_or_default())
            .into_owned()
    }
}

struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut inner) = self.0.lock() {
            inner.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Secrets shorter than this are not masked (they would mangle ordinary
/// text and are not real tokens).
const MIN_MASK_LEN: usize = 8;

impl Console {
    pub fn new(out: Sink, err: Sink) -> Console {
        Console {
            out: Mutex::new(out),
            err: Mutex::new(err),
            input: Mutex::new(None),
            masks: Mutex::new(Vec::new()),
        }
    }

    /// The process's stdout, stderr and stdin.
    pub fn stdio() -> Console {
        Console::new(Box::new(std::io::stdout()), Box::new(std::io::stderr()))
            .with_stdin(Box::new(std::io::stdin()))
    }

    /// In-memory streams, and a handle to read them.
    pub fn capture() -> (Console, Captured) {
        let captured = Captured::default();
        let console = Console::new(
            Box::new(Shared(captured.out.clone())),
            Box::new(Shared(captured.err.clone())),
        );
        (console, captured)
    }

    pub fn with_stdin(self, input: Box<dyn Read + Send>) -> Console {
        if let Ok(mut slot) = self.input.lock() {
            *slot = Some(input);
        }
        self
    }

    /// Registers a secret: from now on it is masked in everything written.
    pub fn mask(&self, secret: &str) {
        let secret = secret.trim();
        if secret.len() < MIN_MASK_LEN {
            return;
        }
        if let Ok(mut masks) = self.masks.lock()
            && !masks.iter().any(|m| m == secret)
        {
            masks.push(secret.to_string());
        }
    }

    /// `text` with every registered secret replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        let mut text = text.to_string();
        if let Ok(masks) = self.masks.lock() {
            for mask in masks.iter() {
                if text.contains(mask.as_str()) {
                    text = text.replace(mask.as_str(), "***");
                }
            }
        }
        text
    }

    /// Writes to stdout (masked).
    pub fn print(&self, text: &str) {
        let text = self.redact(text);
        if let Ok(mut out) = self.out.lock() {
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
        }
    }

    /// Writes one line to stderr (masked).
    pub fn note(&self, line: &str) {
        let text = self.redact(line);
        if let Ok(mut err) = self.err.lock() {
            let _ = writeln!(err, "{text}");
            let _ = err.flush();
        }
    }

    /// Reads all of stdin (once).
    pub fn read_stdin(&self) -> std::io::Result<String> {
        let mut slot = self
            .input
            .lock()
            .map_err(|_| std::io::Error::other("stdin lock poisoned"))?;
        let Some(mut input) = slot.take() else {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no standard input is available",
            ));
        };
        let mut text = String::new();
        input.read_to_string(&mut text)?;
        Ok(text)
    }
}
