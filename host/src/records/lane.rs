//! A product lane: one `(context, instance)` pair of a product profile,
//! the unit that deploys, leases and provider targets are about.

/// One lane of a product: where deploys go and provider calls may reach.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lane {
    pub context: String,
    pub instance: String,
}

impl Lane {
    /// `context/instance`, for messages.
    pub fn label(&self) -> String {
        format!("{}/{}", self.context, self.instance)
    }
}
