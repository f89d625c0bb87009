//! Sending webhook deliveries: claimed from the catalog (one sender per delivery, from
//! any server sharing it), written as JSON or Slack's `{"text"}`, signed with
//! HMAC-SHA256 of the body under the webhook's secret (`X-Tenantry-Signature:
//! sha256=…`), POSTed with a timeout, and each try recorded; a failure waits longer
//! each time, and the last try gives up.

use std::time::Duration;

use hmac::{KeyInit, Mac};
use secrecy::ExposeSecret;
use tenantry_core::webhook::{Event, Format, MAX_ATTEMPTS, backoff_secs, slack_text};
use tenantry_store::{DueDelivery, Tried, unix_now};

use crate::AppState;

/// `sha256=` and the hex HMAC-SHA256 of `body` under `secret`.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    let mut mac = hmac::Hmac::<sha2_hmac::Sha256>::new_from_slice(secret)
        .expect("HMAC takes a key of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The body a delivery sends.
fn body_of(d: &DueDelivery) -> String {
    match d.format {
        Format::Json => d.body.clone(),
        Format::Slack => {
            let stored: serde_json::Value = serde_json::from_str(&d.body).unwrap_or_default();
            let text = match Event::parse(&d.event) {
                Ok(e) => slack_text(e, &stored["data"]),
                Err(_) => d.event.clone(),
            };
            serde_json::json!({ "text": text }).to_string()
        }
    }
}

type Https = hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>;
type Http = hyper_util::client::legacy::Client<Https, http_body_util::Full<bytes::Bytes>>;

/// HTTP and HTTPS (ring, the process's one rustls provider; the platform's roots).
fn client() -> Result<Http, String> {
    use rustls_platform_verifier::BuilderVerifierExt;
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(BuilderVerifierExt::with_platform_verifier)
        .map_err(|e| format!("cannot set up TLS for webhooks: {e}"))?
        .with_no_client_auth();
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .build();
    Ok(
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build(https),
    )
}

async fn send(http: &Http, d: &DueDelivery) -> Result<i64, (Option<i64>, String)> {
    let body = body_of(d);
    let mut req = http::Request::post(&d.url)
        .header("content-type", "application/json")
        .header("user-agent", "tenantry-webhook")
        .header("x-tenantry-event", &d.event)
        .header("x-tenantry-delivery", d.id.to_string());
    if let Some(s) = &d.secret {
        req = req.header(
            "x-tenantry-signature",
            signature(s.expose_secret().as_bytes(), body.as_bytes()),
        );
    }
    let req = req
        .body(http_body_util::Full::new(bytes::Bytes::from(body)))
        .map_err(|e| (None, format!("{} is not an address to send to: {e}", d.url)))?;
    match tokio::time::timeout(Duration::from_secs(10), http.request(req)).await {
        Ok(Ok(r)) if r.status().is_success() => Ok(i64::from(r.status().as_u16())),
        Ok(Ok(r)) => {
            let code = i64::from(r.status().as_u16());
            Err((Some(code), format!("answered HTTP {code}")))
        }
        Ok(Err(e)) => Err((None, format!("cannot reach {}: {e}", d.url))),
        Err(_) => Err((None, format!("{} did not answer within 10 s", d.url))),
    }
}

impl AppState {
    /// Sends the deliveries due now (a few at a time); how many were tried.
    pub async fn deliver_webhooks_once(&self) -> Result<usize, crate::WebError> {
        let owner = format!("{}:web", tenantry_engine::lease_owner());
        let due = self.catalog.claim_deliveries(&owner, 20, 60).await?;
        if due.is_empty() {
            return Ok(0);
        }
        let http = client().map_err(crate::WebError::Internal)?;
        let base = self.config.webhook_backoff.as_secs().max(1);
        for d in &due {
            let tried = match send(&http, d).await {
                Ok(code) => Tried::Delivered { code },
                Err((code, error)) => {
                    let attempts = d.attempts + 1;
                    let next_at = (attempts < MAX_ATTEMPTS).then(|| {
                        unix_now() + i64::try_from(backoff_secs(attempts - 1, base)).unwrap_or(3600)
                    });
                    tracing::warn!(
                        delivery = d.id,
                        attempt = attempts,
                        "webhook not delivered: {error}"
                    );
                    Tried::Failed {
                        code,
                        error,
                        next_at,
                    }
                }
            };
            self.catalog.record_delivery(d.id, &tried).await?;
        }
        Ok(due.len())
    }

    /// Every `every`, sends the deliveries due.
    pub fn deliver_webhooks_every(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let state = self.clone();
        tokio::spawn(async move {
            loop {
                if let Err(e) = state.deliver_webhooks_once().await {
                    tracing::warn!("cannot send webhooks: {e}");
                }
                tokio::time::sleep(every).await;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4231, test case 2.
    #[test]
    fn the_signature_is_hmac_sha256_as_the_rfc_has_it() {
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
