//! API errors as the real server writes them: `Status` objects with reason, code, details.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;

use crate::resources::Resource;

/// One field problem of a 422 Invalid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    pub reason: &'static str,
    pub field: String,
    pub message: String,
}

impl Cause {
    pub fn invalid(field: impl Into<String>, value: &str, detail: &str) -> Self {
        Self {
            reason: "FieldValueInvalid",
            field: field.into(),
            message: format!("Invalid value: {value:?}: {detail}"),
        }
    }

    pub fn required(field: impl Into<String>, detail: &str) -> Self {
        Self {
            reason: "FieldValueRequired",
            field: field.into(),
            message: if detail.is_empty() {
                "Required value".into()
            } else {
                format!("Required value: {detail}")
            },
        }
    }

    pub fn forbidden(field: impl Into<String>, detail: &str) -> Self {
        Self {
            reason: "FieldValueForbidden",
            field: field.into(),
            message: format!("Forbidden: {detail}"),
        }
    }

    pub fn unsupported(field: impl Into<String>, value: &str, allowed: &[&str]) -> Self {
        let allowed: Vec<String> = allowed.iter().map(|a| format!("{a:?}")).collect();
        Self {
            reason: "FieldValueNotSupported",
            field: field.into(),
            message: format!(
                "Unsupported value: {value:?}: supported values: {}",
                allowed.join(", ")
            ),
        }
    }

    pub fn immutable(field: impl Into<String>) -> Self {
        Self {
            reason: "FieldValueInvalid",
            field: field.into(),
            message: "Invalid value: \"\": field is immutable".into(),
        }
    }
}

/// An API error: an HTTP status with a `Status` body.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    pub details: Option<Box<Details>>,
    pub retry_after: Option<u64>,
}

/// `Status.details`, its keys in the order the API server writes them (clients such as
/// the Python client's `create_from_yaml` compare error bodies as text).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Details {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub group: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub kind: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub causes: Vec<StatusCause>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<u64>,
}

/// One entry of `Status.details.causes`.
#[derive(Debug, Clone, Serialize)]
pub struct StatusCause {
    pub reason: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub field: String,
}

/// A `Status` body, in the API server's key order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StatusBody<'a> {
    kind: &'static str,
    api_version: &'static str,
    metadata: Empty,
    status: &'static str,
    message: &'a str,
    reason: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<&'a Details>,
    code: u16,
}

#[derive(Serialize)]
struct Empty {}

impl ApiError {
    fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            reason,
            message: message.into(),
            details: None,
            retry_after: None,
        }
    }

    pub fn not_found(res: &Resource, name: &str) -> Self {
        let mut e = Self::new(
            404,
            "NotFound",
            format!("{} {name:?} not found", res.qualified_plural()),
        );
        e.details = Some(Box::new(details(res, name, res.plural)));
        e
    }

    /// A NotFound with the given message, for objects outside the resource table.
    pub fn not_found_message(message: String) -> Self {
        let mut e = Self::new(404, "NotFound", message);
        e.details = Some(Box::new(Details::default()));
        e
    }

    pub fn not_found_path() -> Self {
        let mut e = Self::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        );
        e.details = Some(Box::new(Details::default()));
        e
    }

    pub fn already_exists(res: &Resource, name: &str) -> Self {
        let mut e = Self::new(
            409,
            "AlreadyExists",
            format!("{} {name:?} already exists", res.qualified_plural()),
        );
        e.details = Some(Box::new(details(res, name, res.plural)));
        e
    }

    /// A delete whose preconditions do not hold: 409, as the API server answers.
    pub fn precondition_failed(res: &Resource, name: &str, message: &str) -> Self {
        let mut e = Self::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": {message}",
                res.qualified_plural()
            ),
        );
        e.details = Some(Box::new(details(res, name, res.plural)));
        e
    }

    pub fn conflict(res: &Resource, name: &str) -> Self {
        let mut e = Self::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} {name:?}: the object has been modified; please apply your changes to the latest version and try again",
                res.qualified_plural()
            ),
        );
        e.details = Some(Box::new(details(res, name, res.plural)));
        e
    }

    /// A server-side apply that would change fields other managers own (409, a
    /// `FieldManagerConflict` cause per field).
    pub(crate) fn apply_conflicts(
        res: &Resource,
        name: &str,
        c: &crate::ownership::Conflicts,
    ) -> Self {
        let mut e = Self::new(409, "Conflict", c.message());
        let mut d = details(res, name, res.plural);
        d.causes =
            c.0.iter()
                .map(|(manager, version, field)| StatusCause {
                    reason: "FieldManagerConflict",
                    message: format!("conflict with {manager:?} using {version}"),
                    field: field.clone(),
                })
                .collect();
        e.details = Some(Box::new(d));
        e
    }

    pub fn invalid(res: &Resource, name: &str, causes: Vec<Cause>) -> Self {
        let parts: Vec<String> = causes
            .iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect();
        let list = if parts.len() == 1 {
            parts[0].clone()
        } else {
            format!("[{}]", parts.join(", "))
        };
        let mut e = Self::new(
            422,
            "Invalid",
            format!("{} {name:?} is invalid: {list}", res.qualified_kind()),
        );
        let mut d = details(res, name, res.kind);
        d.causes = causes
            .into_iter()
            .map(|c| StatusCause {
                reason: c.reason,
                message: c.message,
                field: c.field,
            })
            .collect();
        e.details = Some(Box::new(d));
        e
    }

    pub fn unprocessable(message: impl Into<String>) -> Self {
        Self::new(422, "Invalid", message)
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    pub fn unauthorized() -> Self {
        Self::new(401, "Unauthorized", "Unauthorized")
    }

    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        Self::new(405, "MethodNotAllowed", message)
    }

    pub fn unsupported_media_type(content_type: &str) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf, application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml (got {content_type:?})"
            ),
        )
    }

    pub fn gone(message: impl Into<String>) -> Self {
        Self::new(410, "Expired", message)
    }

    /// A watch or list from a resource version the server has not reached (it restarted
    /// and lost its state): what the API server's watch cache answers after waiting for it.
    pub fn too_large_resource_version(requested: u64, current: u64) -> Self {
        let mut e = Self::new(
            504,
            "Timeout",
            format!("Timeout: Too large resource version: {requested}, current: {current}"),
        );
        e.retry_after = Some(1);
        e.details = Some(Box::new(Details {
            causes: vec![StatusCause {
                reason: "ResourceVersionTooLarge",
                message: "Too large resource version".into(),
                field: String::new(),
            }],
            retry_after_seconds: Some(1),
            ..Details::default()
        }));
        e
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "InternalError", message)
    }

    pub fn unavailable() -> Self {
        Self::new(
            503,
            "ServiceUnavailable",
            "the server is currently unable to handle the request",
        )
    }

    pub fn too_many_requests(retry_after: u64) -> Self {
        let mut e = Self::new(
            429,
            "TooManyRequests",
            "the server has received too many requests and has asked us to try again later",
        );
        e.retry_after = Some(retry_after);
        e.details = Some(Box::new(Details {
            retry_after_seconds: Some(retry_after),
            ..Details::default()
        }));
        e
    }

    fn status_body(&self) -> StatusBody<'_> {
        StatusBody {
            kind: "Status",
            api_version: "v1",
            metadata: Empty {},
            status: "Failure",
            message: &self.message,
            reason: self.reason,
            details: self.details.as_deref(),
            code: self.code,
        }
    }

    /// The `Status` object, e.g. for a watch's ERROR event.
    pub fn body(&self) -> Value {
        serde_json::to_value(self.status_body()).unwrap_or(Value::Null)
    }

    /// The response body as the API server writes it: keys in its order, then a newline.
    pub fn body_text(&self) -> String {
        let mut text = serde_json::to_string(&self.status_body()).unwrap_or_default();
        text.push('\n');
        text
    }
}

fn details(res: &Resource, name: &str, kind: &str) -> Details {
    Details {
        name: name.to_owned(),
        group: res.group.to_owned(),
        kind: kind.to_owned(),
        ..Details::default()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut resp = (
            code,
            [(header::CONTENT_TYPE, "application/json")],
            self.body_text(),
        )
            .into_response();
        if let Some(s) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&s.to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        resp
    }
}
