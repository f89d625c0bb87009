//! Errors of the web UI and API. Each becomes a status and a message that says what is
//! wrong; the API answers `{"error": …, "field": …}`, pages show the message. Internal
//! failures are logged and shown without detail.

use crate::api_types::{ApiError, TemplateProblem, TemplateProblemKind};
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tenantry_core::Role;
use tenantry_engine::{DeployError, PlanError};
use tenantry_store::StoreError;

use crate::i18n::Lang;

pub use crate::messages::Msg;

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("{0}")]
    NotFound(Msg),
    #[error("this needs the {0} role")]
    Forbidden(Role),
    #[error("log in first, or send an API token as `Authorization: Bearer …`")]
    Unauthenticated,
    #[error(
        "the request did not carry this session's CSRF token (form field _csrf or header X-CSRF-Token), or came from another site; reload the page and try again"
    )]
    Csrf,
    #[error("Wrong name or password, or too many attempts. Try again later.")]
    LoginFailed,
    #[error("too many failed logins; wait {retry_after_s} s and try again")]
    TooManyAttempts { retry_after_s: i64 },
    #[error("the server is busy checking other logins; try again in a few seconds")]
    Busy,
    #[error("this server answers at {0}; open it at that address")]
    WrongHost(String),
    #[error("this address does not take that method")]
    MethodNotAllowed,
    /// A field's value refused: malformed (400), or, when `rule` is set, well-formed but
    /// against a rule across fields or the catalog's state (422: choose one of two, type
    /// the id to confirm, a template that does not render, a new API host without its
    /// token).
    #[error("{field}: {message}")]
    Field {
        field: String,
        message: Msg,
        rule: bool,
    },
    /// A value the domain refuses, typed so a page can say it in its language and show
    /// it beside its field.
    #[error("{field}: {problem}")]
    Input {
        field: String,
        problem: crate::forms::InputProblem,
    },
    #[error("{0}")]
    Conflict(Msg),
    /// A parameter no one defined, set without saying it is meant to be new.
    #[error("{message}")]
    UnknownParam {
        name: String,
        suggestion: Option<String>,
        message: String,
    },
    /// Another run of the same client and namespace is under way.
    #[error("{message}")]
    RunActive { run: i64, message: String },
    #[error("{0}")]
    Unprocessable(Msg),
    /// A template that would be saved with problems (unknown macros, a broken order, …).
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    TemplateProblems(Vec<tenantry_core::template_check::Found>),
    #[error("internal error: {0}")]
    Internal(String),
}

impl WebError {
    pub fn not_found(m: impl Into<Msg>) -> Self {
        Self::NotFound(m.into())
    }

    pub fn conflict(m: impl Into<Msg>) -> Self {
        Self::Conflict(m.into())
    }

    pub fn unprocessable(m: impl Into<Msg>) -> Self {
        Self::Unprocessable(m.into())
    }

    pub fn field(field: &str, message: impl Into<Msg>) -> Self {
        Self::Field {
            field: field.to_owned(),
            message: message.into(),
            rule: false,
        }
    }

    /// A field's well-formed value against a rule across fields or the catalog (422).
    pub fn rule(field: &str, message: impl Into<Msg>) -> Self {
        Self::Field {
            field: field.to_owned(),
            message: message.into(),
            rule: true,
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Forbidden(_) | Self::Csrf => StatusCode::FORBIDDEN,
            Self::Unauthenticated | Self::LoginFailed => StatusCode::UNAUTHORIZED,
            Self::Field { rule: true, .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Field { .. } | Self::Input { .. } => StatusCode::BAD_REQUEST,
            Self::TooManyAttempts { .. } | Self::Busy => StatusCode::TOO_MANY_REQUESTS,
            Self::WrongHost(_) => StatusCode::MISDIRECTED_REQUEST,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_) | Self::RunActive { .. } => StatusCode::CONFLICT,
            Self::Unprocessable(_) | Self::TemplateProblems(_) | Self::UnknownParam { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What the user sees: the message, except for internal failures.
    pub fn public_message(&self) -> String {
        match self {
            Self::Internal(_) => "the server failed; the details are in its log".to_owned(),
            other => other.to_string(),
        }
    }

    /// Seconds to send as `Retry-After`, for the answers that ask to come back later.
    pub fn retry_after(&self) -> Option<i64> {
        match self {
            Self::TooManyAttempts { retry_after_s } => Some((*retry_after_s).max(1)),
            Self::Busy => Some(2),
            _ => None,
        }
    }

    /// The message in `lang`.
    pub fn message_in(&self, lang: Lang) -> String {
        match self {
            Self::LoginFailed => lang
                .t("Wrong name or password, or too many attempts. Try again later.")
                .to_owned(),
            Self::TooManyAttempts { retry_after_s } => lang
                .t("Too many failed logins; wait {n} s and try again.")
                .replace("{n}", &retry_after_s.max(&1).to_string()),
            Self::Busy => lang
                .t("The server is busy checking other logins; try again in a few seconds.")
                .to_owned(),
            Self::WrongHost(url) => lang
                .t("This server answers at {url}; open it at that address.")
                .replace("{url}", url),
            Self::MethodNotAllowed => lang.t("This address does not take that method.").to_owned(),
            Self::Input { field, problem } => crate::forms::message(lang, field, problem),
            Self::Field { field, message, .. } => {
                let place = crate::forms::place_of(field);
                if place.input.is_empty() {
                    message.in_lang(lang).to_owned()
                } else {
                    let label = crate::forms::label(lang, &place, field.starts_with("contacts["));
                    format!("{label}: {}", message.in_lang(lang))
                }
            }
            Self::NotFound(m) | Self::Conflict(m) | Self::Unprocessable(m) => {
                m.in_lang(lang).to_owned()
            }
            Self::TemplateProblems(found) => found
                .iter()
                .map(|f| crate::messages::found(lang, f))
                .collect::<Vec<_>>()
                .join("; "),
            Self::Forbidden(role) => match lang {
                Lang::En => format!(
                    "{} ({})",
                    lang.t("Your role does not allow this."),
                    self.public_message()
                ),
                Lang::Ru => format!(
                    "{} (нужна роль «{}»)",
                    lang.t("Your role does not allow this."),
                    lang.t_any(role.as_str())
                ),
            },
            Self::Csrf => lang
                .t("The form was not sent from this page's session, or came from another site; reload the page and try again.")
                .to_owned(),
            Self::Internal(_) => lang
                .t("The server failed; the details are in its log.")
                .to_owned(),
            other => other.public_message(),
        }
    }

    /// The JSON answer of the API: `{"error", "field", …}` with the status and, for
    /// the answers that ask to come back later, `Retry-After`.
    pub fn api_response(&self) -> Response {
        let mut body = ApiError {
            error: self.public_message(),
            ..ApiError::default()
        };
        match self {
            Self::Field { field, message, .. } => {
                body.field = Some(field.clone());
                body.error = message.en.clone();
            }
            Self::Input { field, problem } => {
                body.field = Some(field.clone());
                body.error = problem.to_string();
            }
            Self::TemplateProblems(found) => body.problems = found.iter().map(problem).collect(),
            Self::RunActive { run, .. } => body.run = Some(*run),
            Self::UnknownParam { suggestion, .. } => {
                body.field = Some("name".to_owned());
                body.suggestion = suggestion.clone();
            }
            _ => {}
        }
        self.with_retry_after((self.status(), Json(body)).into_response())
    }

    /// `r` with `Retry-After` when this error asks to come back later.
    pub fn with_retry_after(&self, mut r: Response) -> Response {
        if let Some(s) = self.retry_after()
            && let Ok(v) = s.to_string().parse()
        {
            r.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
        }
        r
    }

    /// The run in the way, for a page to link to.
    pub fn run_in_the_way(&self) -> Option<i64> {
        match self {
            Self::RunActive { run, .. } => Some(*run),
            _ => None,
        }
    }
}

/// One template problem in an API answer: what, where, and the suggested macro.
fn problem(f: &tenantry_core::template_check::Found) -> TemplateProblem {
    use tenantry_core::template_check::TemplateProblem as P;
    let (kind, macro_name, at, suggestion) = match &f.problem {
        P::UnknownMacro {
            name,
            at,
            suggestion,
        } => (
            TemplateProblemKind::UnknownMacro,
            Some(name.clone()),
            Some(at.clone()),
            suggestion.clone(),
        ),
        P::Order(_) => (TemplateProblemKind::Order, None, None, None),
        P::SecretInName { at, name } => (
            TemplateProblemKind::SecretInName,
            Some(name.to_string()),
            Some(at.to_string()),
            None,
        ),
        P::NotAnObject { field } => (
            TemplateProblemKind::NotAnObject,
            None,
            Some(field.to_string()),
            None,
        ),
    };
    TemplateProblem {
        template: f.template.to_string(),
        kind,
        message: f.problem.to_string(),
        macro_name,
        at,
        suggestion,
    }
}

/// Carried on a response made from a WebError, so the middleware can render it in the
/// caller's language and format.
#[derive(Debug, Clone)]
pub struct Rendered(pub std::sync::Arc<std::sync::Mutex<Option<WebError>>>);

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let mut r = self.status().into_response();
        r.extensions_mut()
            .insert(Rendered(std::sync::Arc::new(std::sync::Mutex::new(Some(
                self,
            )))));
        r
    }
}

impl From<StoreError> for WebError {
    fn from(e: StoreError) -> Self {
        use StoreError as S;
        let msg = || Msg {
            ru: crate::messages::store_error_ru(&e),
            en: crate::messages::store_error_en(&e),
        };
        match &e {
            S::ClientNotFound(_)
            | S::ContactNotFound { .. }
            | S::NamespaceNotFound(_)
            | S::ParamNotFound(_)
            | S::TemplateNotFound(_)
            | S::TemplateVersionNotFound { .. }
            | S::RunNotFound(_)
            | S::RolloutNotFound(_)
            | S::UserNotFound(_) => Self::NotFound(msg()),
            S::ClientArchived(_)
            | S::RolloutOver { .. }
            | S::SecretsDiffer { .. }
            | S::EnvironmentsExist { .. }
            | S::NamespaceExists(_)
            | S::ParamExists(_)
            | S::UserExists(_) => Self::Conflict(msg()),
            S::RunActive { run, .. } => Self::RunActive {
                run: *run,
                message: e.to_string(),
            },
            S::ParamNotSettable { .. } | S::SecretInName { .. } => Self::Unprocessable(msg()),
            S::TokenRequired { .. } => Self::rule("token", e.to_string()),
            _ => match e {
                S::TooLarge(l) => Self::Input {
                    field: l.field().to_owned(),
                    problem: crate::forms::InputProblem::Limit(l),
                },
                other => Self::Internal(format!("{other:#}: {}", source_chain(&other))),
            },
        }
    }
}

fn source_chain(e: &dyn std::error::Error) -> String {
    let mut out = Vec::new();
    let mut cur = e.source();
    while let Some(s) = cur {
        out.push(s.to_string());
        cur = s.source();
    }
    out.join(": ")
}

impl From<DeployError> for WebError {
    fn from(e: DeployError) -> Self {
        match e {
            DeployError::Store(s) | DeployError::Plan(PlanError::Store(s)) => s.into(),
            DeployError::Plan(PlanError::Archived(id)) => Self::Conflict(Msg::both(
                format!("client {id} is archived: restore it before building its environment"),
                format!(
                    "клиент {id} в архиве: восстановите его, прежде чем разворачивать окружение"
                ),
            )),
            DeployError::Plan(p) => Self::Unprocessable(crate::messages::plan_error(&p)),
            DeployError::Refused(why) => Self::Conflict(why.into()),
            DeployError::Kube(k) => Self::Unprocessable(Msg::both(
                format!(
                    "cannot connect to the namespace's cluster: {k}; check the namespace's settings"
                ),
                format!(
                    "нет связи с кластером пространства: {k}; проверьте настройки пространства"
                ),
            )),
        }
    }
}
