//! Namespace targets: where a client environment goes (cluster API root, namespace, CA).

use std::fmt;

use serde::Serialize;
use url::Url;

/// A namespace's name in the catalog (`lms-dev`), also a Kubernetes namespace name:
/// an RFC 1123 label.
#[cfg_attr(
    feature = "openapi",
    derive(utoipa::ToSchema),
    schema(value_type = String, pattern = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
)]
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct NamespaceName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("namespace name {input:?} is invalid: {problem} (e.g. lms-dev)")]
pub struct NamespaceNameError {
    pub input: String,
    pub problem: crate::names::LabelProblem,
}

impl NamespaceName {
    pub fn parse(input: &str) -> Result<Self, NamespaceNameError> {
        match crate::names::label_problem(input) {
            None => Ok(Self(input.to_owned())),
            Some(problem) => Err(NamespaceNameError {
                input: input.to_owned(),
                problem,
            }),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for NamespaceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for NamespaceName {
    type Err = NamespaceNameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// The root URL of a cluster's API, path prefix kept (Rancher serves clusters under
/// `/k8s/clusters/c-…/`). Stored without a trailing slash, so both spellings are equal.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct ApiRootUrl(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "API root URL {input:?} {problem}; expected e.g. https://rancher.example/k8s/clusters/c-m4hlh/"
)]
pub struct ApiRootUrlError {
    pub input: String,
    pub problem: UrlProblem,
}

/// What is wrong with an API root URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlProblem {
    NotAUrl(String),
    Scheme,
    NoHost,
    Credentials,
    QueryOrFragment,
}

impl fmt::Display for UrlProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotAUrl(e) => write!(f, "is not a URL ({e})"),
            Self::Scheme => {
                f.write_str("must start with https:// (or http:// for a local test cluster)")
            }
            Self::NoHost => f.write_str("has no host"),
            Self::Credentials => {
                f.write_str("must not carry a user or password; the token is given separately")
            }
            Self::QueryOrFragment => f.write_str("must not have a query (?…) or fragment (#…)"),
        }
    }
}

impl ApiRootUrl {
    pub fn parse(input: &str) -> Result<Self, ApiRootUrlError> {
        let err = |problem: UrlProblem| ApiRootUrlError {
            input: input.to_owned(),
            problem,
        };
        let url = Url::parse(input.trim()).map_err(|e| err(UrlProblem::NotAUrl(e.to_string())))?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err(err(UrlProblem::Scheme));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(err(UrlProblem::NoHost));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(err(UrlProblem::Credentials));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(err(UrlProblem::QueryOrFragment));
        }
        let text = url.as_str().trim_end_matches('/').to_owned();
        Ok(Self(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Where the token is sent: `scheme://host:port`. A change of it needs the token
    /// given again, so a stored token is never sent to a new place.
    pub fn origin(&self) -> String {
        Url::parse(&self.0)
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_default()
    }

    /// The full URL of an API path such as `api/v1/namespaces/x/pods`: exactly one slash
    /// between the root (prefix kept) and the path.
    pub fn join(&self, path: &str) -> String {
        format!("{}/{}", self.0, path.trim_start_matches('/'))
    }
}

impl fmt::Display for ApiRootUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One or more PEM certificates a cluster's TLS certificate is checked against.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct CaBundle(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("CA bundle {problem}; expected one or more PEM blocks '-----BEGIN CERTIFICATE-----'")]
pub struct CaBundleError {
    pub problem: CaProblem,
}

/// What is wrong with a CA bundle.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaProblem {
    /// Not PEM at all; the PEM reader's words.
    #[error("is not valid PEM ({0})")]
    NotPem(String),
    #[error("holds no PEM block")]
    NoBlock,
    /// A PEM block of another kind (e.g. a private key), by its tag.
    #[error("holds a {0:?} block, not a certificate")]
    NotCertificate(String),
    /// The certificate at this position (from 1) cannot be read; the reader's words.
    #[error("holds a certificate (number {number}) that cannot be read ({detail})")]
    Unreadable { number: usize, detail: String },
}

impl CaBundle {
    pub fn parse(input: &str) -> Result<Self, CaBundleError> {
        let err = |problem: CaProblem| CaBundleError { problem };
        let blocks = pem::parse_many(input).map_err(|e| err(CaProblem::NotPem(e.to_string())))?;
        if blocks.is_empty() {
            return Err(err(CaProblem::NoBlock));
        }
        if let Some(other) = blocks.iter().find(|b| b.tag() != "CERTIFICATE") {
            return Err(err(CaProblem::NotCertificate(other.tag().to_owned())));
        }
        // Each must be a certificate TLS can trust, as the cluster client will read it.
        for (i, b) in blocks.iter().enumerate() {
            let der = rustls_pki_types::CertificateDer::from(b.contents());
            if let Err(e) = webpki::anchor_from_trusted_cert(&der) {
                return Err(err(CaProblem::Unreadable {
                    number: i + 1,
                    detail: format!("{e:?}"),
                }));
            }
        }
        Ok(Self(input.trim().to_owned() + "\n"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The certificates in DER, as TLS clients take them.
    pub fn certificates_der(&self) -> Vec<Vec<u8>> {
        pem::parse_many(&self.0)
            .map(|blocks| blocks.into_iter().map(|b| b.into_contents()).collect())
            .unwrap_or_default()
    }

    pub fn len(&self) -> usize {
        self.certificates_der().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_roots_keep_their_prefix_and_ignore_a_trailing_slash() {
        let with = ApiRootUrl::parse("https://rancher.example/k8s/clusters/c-m4hlh/").unwrap();
        let without = ApiRootUrl::parse("https://rancher.example/k8s/clusters/c-m4hlh").unwrap();
        assert_eq!(with, without);
        assert_eq!(
            with.join("/api/v1/namespaces/lms-dev/pods"),
            "https://rancher.example/k8s/clusters/c-m4hlh/api/v1/namespaces/lms-dev/pods"
        );
        let bare = ApiRootUrl::parse("http://127.0.0.1:6443/").unwrap();
        assert_eq!(bare.join("api/v1"), "http://127.0.0.1:6443/api/v1");
    }

    #[test]
    fn bad_api_roots_say_why() {
        let cases = [
            ("rancher.example", "is not a URL"),
            ("ftp://rancher.example/", "must start with https://"),
            ("https://u:p@rancher.example/", "user or password"),
            ("https://rancher.example/?x=1", "query"),
        ];
        for (input, want) in cases {
            let msg = ApiRootUrl::parse(input).unwrap_err().to_string();
            assert!(msg.contains(want), "{input}: {msg}");
        }
    }

    #[test]
    fn namespace_names_are_dns_labels() {
        assert!(NamespaceName::parse("lms-prod").is_ok());
        let msg = NamespaceName::parse("LMS_dev").unwrap_err().to_string();
        assert!(msg.contains("lower-case"), "{msg}");
    }

    #[test]
    fn ca_bundles_hold_certificates_only() {
        let cert = include_str!("../tests/fixtures/test-ca.pem");
        let parsed = CaBundle::parse(cert).unwrap();
        assert_eq!(parsed.len(), 1);
        assert_eq!(
            parsed.certificates_der()[0][0],
            0x30,
            "DER starts with a SEQUENCE"
        );
        // PEM that wraps bytes that are no certificate is refused when it is set, not at
        // the next deploy.
        let junk = "-----BEGIN CERTIFICATE-----\nMIIBjunkjunkjunk\n-----END CERTIFICATE-----\n";
        let msg = CaBundle::parse(junk).unwrap_err().to_string();
        assert!(msg.contains("cannot be read"), "{msg}");
        assert!(
            CaBundle::parse("hello")
                .unwrap_err()
                .to_string()
                .contains("no PEM block")
        );
        let key = "-----BEGIN PRIVATE KEY-----\nAQID\n-----END PRIVATE KEY-----\n";
        assert!(
            CaBundle::parse(key)
                .unwrap_err()
                .to_string()
                .contains("not a certificate")
        );
    }
}
