//! Protobuf request bodies (`application/vnd.kubernetes.protobuf`), as kubectl ≥ 1.31,
//! client-go typed clients and controllers send them for built-in kinds: the envelope
//! (`k8s\0` then a `runtime.Unknown` holding the type and the raw message) is opened and
//! the message decoded into the JSON object the rest of kubesim reads. Answers stay JSON,
//! which those clients accept alongside protobuf.
//!
//! The field numbers and JSON names are a table generated from the kube-rs project's
//! `k8s-pb` message types and the official Python client's models
//! (`scripts/gen-proto-fields` writes `fields.txt`).

mod wire;

use serde_json::{Value, json};

pub use wire::WireError;

/// The media type of Kubernetes' protobuf encoding.
pub const MEDIA_TYPE: &str = "application/vnd.kubernetes.protobuf";

/// The four bytes every Kubernetes protobuf body starts with.
const MAGIC: &[u8] = b"k8s\0";

/// Why a protobuf body was refused.
#[derive(Debug, thiserror::Error)]
pub enum ProtoError {
    #[error(
        "provided object is not a Kubernetes protobuf message: it does not start with the 4-byte prefix \"k8s\\x00\""
    )]
    NoMagic,
    #[error("the body's envelope (runtime.Unknown) could not be read: {0}")]
    Envelope(WireError),
    #[error("the body's content encoding {0:?} is not supported (only unencoded messages are)")]
    Encoding(String),
    #[error("no kind {kind:?} is registered for version {api_version:?}")]
    UnknownKind { kind: String, api_version: String },
    #[error("the {kind} in the body could not be decoded: {error}")]
    Message { kind: String, error: WireError },
}

/// Whether a `Content-Type` names the protobuf encoding.
pub fn is_protobuf(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case(MEDIA_TYPE))
}

/// The message name (in `fields.txt`) of `kind` at `api_version`.
fn message_of(kind: &str, api_version: &str) -> Option<&'static str> {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let label = group.split('.').next().unwrap_or_default();
    let candidates = [
        format!(
            "api.{}.{version}.{kind}",
            if group.is_empty() { "core" } else { label }
        ),
        format!("kube_aggregator.pkg.apis.{label}.{version}.{kind}"),
        format!("apimachinery.pkg.apis.meta.{version}.{kind}"),
    ];
    candidates
        .iter()
        .find_map(|name| wire::MESSAGES.get_key_value(name.as_str()).map(|(k, _)| *k))
}

/// Decodes a protobuf body into the JSON object it holds, with its `apiVersion` and `kind`.
pub fn decode(body: &[u8]) -> Result<Value, ProtoError> {
    let rest = body.strip_prefix(MAGIC).ok_or(ProtoError::NoMagic)?;
    let envelope =
        wire::decode("apimachinery.pkg.runtime.Unknown", rest).map_err(ProtoError::Envelope)?;
    let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_owned();
    let kind = text(envelope.pointer("/typeMeta/kind"));
    let api_version = text(envelope.pointer("/typeMeta/apiVersion"));
    let encoding = text(envelope.get("contentEncoding"));
    if !encoding.is_empty() {
        return Err(ProtoError::Encoding(encoding));
    }
    let message = message_of(&kind, &api_version).ok_or_else(|| ProtoError::UnknownKind {
        kind: kind.clone(),
        api_version: api_version.clone(),
    })?;
    let raw = match envelope.get("raw").and_then(Value::as_str) {
        Some(b64) => {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap_or_default()
        }
        None => Vec::new(),
    };
    let mut object = wire::decode(message, &raw).map_err(|error| ProtoError::Message {
        kind: kind.clone(),
        error,
    })?;
    if let Value::Object(map) = &mut object {
        // apiVersion and kind first, as the API server writes them.
        let mut ordered = serde_json::Map::new();
        ordered.insert("kind".to_owned(), json!(kind));
        ordered.insert("apiVersion".to_owned(), json!(api_version));
        ordered.append(map);
        *map = ordered;
    }
    Ok(object)
}

#[cfg(test)]
mod tests;
