//! One Dokploy API call (URL, `x-api-key`, body, timeout; errors redacted)
//! and reading its answers: JSON fields, lists, and the `*.one` payload of
//! a target or an application.

use std::time::Duration;

use reqwest::Method;
use reqwest::header::HeaderValue;
use serde_json::{Value, json};

use super::{DokployEndpoint, DokployProvider};
use crate::providers::ProviderError;
use crate::providers::redact::provider_detail;
use crate::providers::targets::{ProviderTarget, TargetType};

/// A string or number field as trimmed text; empty when absent.
pub(super) fn text(value: &Value, key: &str) -> String {
    match value.get(key) {
        Some(Value::String(s)) => s.trim().to_string(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// Python truthiness rendered as `str(value)`.
pub(super) fn truthy_text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) if n.as_f64() != Some(0.0) => Some(n.to_string()),
        Value::Bool(true) => Some("True".to_string()),
        Value::Array(a) if !a.is_empty() => Some(Value::Array(a.clone()).to_string()),
        Value::Object(o) if !o.is_empty() => Some(Value::Object(o.clone()).to_string()),
        _ => None,
    }
}

/// Object items of a list payload, or of its `data`/`<name>`/`items`/
/// `result` list.
pub(super) fn extract_list(payload: &Value, name: &str) -> Vec<Value> {
    let items = match payload {
        Value::Array(items) => Some(items),
        Value::Object(map) => ["data", name, "items", "result"]
            .iter()
            .find_map(|k| map.get(*k).and_then(Value::as_array)),
        _ => None,
    };
    items
        .map(|items| items.iter().filter(|i| i.is_object()).cloned().collect())
        .unwrap_or_default()
}

impl DokployProvider {
    /// Provider text fit to quote: redacted, with the API key itself
    /// removed as well.
    fn detail(endpoint: &DokployEndpoint, text: &str) -> String {
        provider_detail(text, &[endpoint.token().expose()])
    }

    /// One API call (see the module docs for the shape of answers and
    /// errors).
    pub(super) async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
        timeout: Option<Duration>,
    ) -> Result<Value, ProviderError> {
        let endpoint = self.config.credentials.endpoint().await?;
        let url = format!("{}{}", endpoint.host(), path);
        let mut key = HeaderValue::from_str(endpoint.token().expose()).map_err(|_| {
            ProviderError::Config("the Dokploy API key is not a valid header value".into())
        })?;
        key.set_sensitive(true);
        let mut request = self
            .client
            .request(method.clone(), &url)
            .header("x-api-key", key);
        if !query.is_empty() {
            request = request.query(query);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        if let Some(timeout) = timeout {
            request = request.timeout(timeout);
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => {
                return Err(self.transport_error(&endpoint, &method, path, &error, timeout));
            }
        };
        let status = response.status().as_u16();
        let bytes = match response.bytes().await {
            Ok(bytes) => bytes,
            Err(error) => {
                return Err(self.transport_error(&endpoint, &method, path, &error, timeout));
            }
        };
        let raw = String::from_utf8_lossy(&bytes);
        if status >= 400 {
            let message = format!(
                "Dokploy API {method} {path} failed ({status}): {}",
                Self::detail(&endpoint, &raw)
            );
            return Err(match status {
                401 | 403 => ProviderError::Unauthorized(message),
                404 => ProviderError::NotFound(message),
                _ => ProviderError::Failed {
                    status: Some(status),
                    message,
                },
            });
        }
        if bytes.is_empty() {
            return Ok(json!({}));
        }
        Ok(serde_json::from_slice(&bytes).unwrap_or_else(|_| json!({"raw": raw})))
    }

    fn transport_error(
        &self,
        endpoint: &DokployEndpoint,
        method: &Method,
        path: &str,
        error: &reqwest::Error,
        timeout: Option<Duration>,
    ) -> ProviderError {
        if error.is_timeout() {
            let limit = timeout.unwrap_or(self.config.http_timeout);
            return ProviderError::Timeout(format!(
                "Dokploy API {method} {path} request timed out after {} ms",
                limit.as_millis()
            ));
        }
        let mut reason = String::new();
        let mut source: Option<&dyn std::error::Error> = Some(error);
        while let Some(e) = source {
            let text = e.to_string();
            if !reason.contains(&text) {
                if !reason.is_empty() {
                    reason.push_str(": ");
                }
                reason.push_str(&text);
            }
            source = e.source();
        }
        ProviderError::failed(format!(
            "Dokploy API {method} {path} request failed: {}",
            Self::detail(endpoint, &reason)
        ))
    }

    /// GET `path` with `query`.
    pub(super) async fn get(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<Value, ProviderError> {
        self.call(Method::GET, path, query, None, None).await
    }

    /// POST `path` with a JSON `body`.
    pub(super) async fn post(&self, path: &str, body: Value) -> Result<Value, ProviderError> {
        self.call(Method::POST, path, &[], Some(&body), None).await
    }

    /// `compose.one` / `application.one` as an object.
    pub(super) async fn target_payload(
        &self,
        target: &ProviderTarget,
    ) -> Result<Value, ProviderError> {
        let payload = match target.target_type {
            TargetType::Compose => {
                self.get("/api/compose.one", &[("composeId", &target.target_id)])
                    .await?
            }
            TargetType::Application => {
                self.get(
                    "/api/application.one",
                    &[("applicationId", &target.target_id)],
                )
                .await?
            }
        };
        if !payload.is_object() {
            return Err(ProviderError::failed(format!(
                "Dokploy {}.one returned an invalid response payload.",
                target.target_type.as_str()
            )));
        }
        Ok(payload)
    }

    /// `application.one` as an object.
    pub(super) async fn application_payload(
        &self,
        application_id: &str,
    ) -> Result<Value, ProviderError> {
        let payload = self
            .get("/api/application.one", &[("applicationId", application_id)])
            .await?;
        if !payload.is_object() {
            return Err(ProviderError::failed(
                "Dokploy application.one returned an invalid response payload.",
            ));
        }
        Ok(payload)
    }
}
