//! What a handler sees of the invocation it serves.

use crate::host::Host;

/// The verified caller. Copy it into evidence; never authorize with it: the
/// host already decided.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caller {
    pub kind: String,
    pub subject: String,
    pub claims: Vec<(String, String)>,
}

impl Caller {
    /// One claim by name.
    pub fn claim(&self, name: &str) -> Option<&str> {
        self.claims
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One invocation of one action, as the host describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Invocation {
    pub trace_id: String,
    pub driver_id: String,
    pub action_id: String,
    pub product: String,
    pub context: String,
    pub instance: String,
    /// The validated payload object, as JSON text.
    pub request: String,
    pub caller: Caller,
    pub idempotency_key: Option<String>,
    pub dry_run: bool,
    /// For a base action an extension action runs: the extension's action
    /// and request (hooks use them to know what they serve).
    pub extension: Option<ExtensionCall>,
}

/// The extension action a base action runs for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtensionCall {
    pub action_id: String,
    /// The extension's validated payload object, as JSON text.
    pub request: String,
}

/// A handler's view of its invocation and the host.
pub struct Ctx<'a> {
    invocation: &'a Invocation,
    host: &'a dyn Host,
}

impl<'a> Ctx<'a> {
    pub fn new(invocation: &'a Invocation, host: &'a dyn Host) -> Self {
        Ctx { invocation, host }
    }

    pub fn invocation(&self) -> &Invocation {
        self.invocation
    }

    pub fn host(&self) -> &dyn Host {
        self.host
    }

    pub fn product(&self) -> &str {
        &self.invocation.product
    }

    pub fn context(&self) -> &str {
        &self.invocation.context
    }

    pub fn instance(&self) -> &str {
        &self.invocation.instance
    }
}
