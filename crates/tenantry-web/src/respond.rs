//! An error as an answer: JSON for the API, a page in the reader's language for a
//! browser (keeping the navigation when someone is logged in). Internal failures are
//! logged here and shown without detail.

use axum::response::{IntoResponse, Response};

use crate::caller::Caller;
use crate::error::WebError;
use crate::i18n::Lang;

pub fn error(e: WebError, is_api: bool, lang: Lang) -> Response {
    error_as(e, is_api, lang, None)
}

pub fn error_as(e: WebError, is_api: bool, lang: Lang, caller: Option<&Caller>) -> Response {
    if let WebError::Internal(detail) = &e {
        tracing::error!("request failed: {detail}");
    }
    if is_api {
        return e.api_response();
    }
    let status = e.status();
    let page = crate::html::error_page(
        lang,
        status,
        &e.message_in(lang),
        caller,
        e.run_in_the_way(),
    );
    e.with_retry_after((status, page).into_response())
}
