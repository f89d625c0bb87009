//! HTTPS for the simulator: a throw-away CA, a server certificate it signs for loopback
//! names, and a TLS accept loop in front of the same router.

use std::path::Path;
use std::sync::Arc;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// Makes a CA and a server certificate for `hosts` (names or IP addresses), writes the
/// CA to `dir/ca.crt`, and returns the TLS configuration to serve with.
pub fn server_config(dir: &Path, hosts: &[String]) -> std::io::Result<Arc<ServerConfig>> {
    let err = |e: rcgen::Error| std::io::Error::other(format!("cannot make a certificate: {e}"));
    let ca_key = KeyPair::generate().map_err(err)?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "kubesim CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca = CertifiedIssuer::self_signed(ca_params, ca_key).map_err(err)?;
    let leaf_key = KeyPair::generate().map_err(err)?;
    let mut params = CertificateParams::new(hosts.to_vec()).map_err(err)?;
    params
        .distinguished_name
        .push(DnType::CommonName, "kubesim");
    let leaf = params.signed_by(&leaf_key, &ca).map_err(err)?;
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("ca.crt"), ca.pem())?;
    std::fs::write(dir.join("server.crt"), leaf.pem())?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(std::io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(vec![CertificateDer::from(leaf.der().to_vec())], key)
        .map_err(std::io::Error::other)?;
    Ok(Arc::new(config))
}

/// Serves `app` over TLS on `listener` until the task is aborted.
pub async fn serve(
    listener: tokio::net::TcpListener,
    config: Arc<ServerConfig>,
    app: axum::Router,
    down: tokio::sync::watch::Receiver<bool>,
) {
    let acceptor = TlsAcceptor::from(config);
    loop {
        let Ok((tcp, peer)) = listener.accept().await else {
            continue;
        };
        let acceptor = acceptor.clone();
        let app = app.clone();
        let down = down.clone();
        tokio::spawn(async move {
            match acceptor.accept(tcp).await {
                Ok(tls) => serve_connection(TokioIo::new(tls), app, down).await,
                Err(e) => {
                    tracing::info!(target: "kubesim", "TLS handshake with {peer} failed: {e}")
                }
            }
        });
    }
}

/// Serves plain HTTP on `listener` until the process ends or `down` says the simulator
/// went away, which drops every connection as a dying process would.
pub async fn serve_plain(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    down: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(serve_connection(
            TokioIo::new(tcp),
            app.clone(),
            down.clone(),
        ));
    }
}

/// One connection, dropped at once when `down` turns true.
async fn serve_connection<I>(io: I, app: axum::Router, mut down: tokio::sync::watch::Receiver<bool>)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let service = TowerToHyperService::new(app);
    let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    let conn = builder.serve_connection(io, service);
    tokio::select! {
        _ = conn => {}
        _ = down.wait_for(|d| *d) => {}
    }
}
