//! What a new catalog holds out of the box: every parameter of the customer's document
//! with its non-secret defaults, and the LMS_* env vars with the document's defects fixed.
//!
//! The customer's hosts and passwords are deliberately absent: operators type them in.

use crate::param::{Generator, ParamKind};

/// A parameter that exists in every catalog.
#[derive(Debug, Clone, Copy)]
pub struct BuiltinParam {
    pub name: &'static str,
    pub description: &'static str,
    pub kind: ParamKind,
    /// The global default, when the document gives one that holds for every namespace.
    pub default: Option<&'static str>,
}

const fn p(
    name: &'static str,
    description: &'static str,
    kind: ParamKind,
    default: Option<&'static str>,
) -> BuiltinParam {
    BuiltinParam {
        name,
        description,
        kind,
        default,
    }
}

const PASSWORD: ParamKind = ParamKind::Generated(Generator::Password { length: 32 });

pub const BUILTIN_PARAMS: &[BuiltinParam] = &[
    p(
        "api-root-url",
        "Root URL of the cluster API (from the namespace)",
        ParamKind::Builtin,
        None,
    ),
    p(
        "namespace-id",
        "Kubernetes namespace the environment is deployed into (from the namespace)",
        ParamKind::Builtin,
        None,
    ),
    p(
        "client-id",
        "Client environment id, made by the system as C<N>",
        ParamKind::Builtin,
        None,
    ),
    p(
        "organisation-name",
        "The client organisation's name",
        ParamKind::Builtin,
        None,
    ),
    p(
        "clickhouse-host",
        "ClickHouse host (system access)",
        ParamKind::Plain,
        None,
    ),
    p(
        "clickhouse-admin-user",
        "ClickHouse administrator user (system access)",
        ParamKind::Plain,
        None,
    ),
    p(
        "clickhouse-admin-password",
        "ClickHouse administrator password (system access)",
        ParamKind::Secret,
        None,
    ),
    p(
        "clickhouse-user-password",
        "Password of the client's ClickHouse user",
        PASSWORD,
        None,
    ),
    p(
        "postgres-host",
        "PostgreSQL host (system access)",
        ParamKind::Plain,
        None,
    ),
    p(
        "postgres-admin-user",
        "PostgreSQL administrator user (system access)",
        ParamKind::Plain,
        Some("postgres"),
    ),
    p(
        "postgres-admin-password",
        "PostgreSQL administrator password (system access)",
        ParamKind::Secret,
        None,
    ),
    p(
        "postgres-user-password",
        "Password of the client's PostgreSQL user",
        PASSWORD,
        None,
    ),
    p(
        "keys-secret-seed",
        "Key that signs auth tokens: 64 random bytes in hex",
        ParamKind::Generated(Generator::Hex { bytes: 64 }),
        None,
    ),
    p(
        "keys-token-ttl-hours",
        "User access token lifetime, hours",
        ParamKind::Plain,
        Some("8"),
    ),
    p(
        "keys-rsa-path",
        "Path of the private key file in the pod",
        ParamKind::Plain,
        Some("/etc/lms/rsa_key"),
    ),
    p(
        "rsa-content",
        "The environment's 2048-bit RSA private key (PEM, base64)",
        ParamKind::Generated(Generator::RsaKey { bits: 2048 }),
        None,
    ),
    p(
        "sms4b-passcode-lifetime-seconds",
        "Phone confirmation code lifetime, seconds",
        ParamKind::Plain,
        Some("120"),
    ),
    p(
        "sms4b-sender",
        "Sender name of service SMS",
        ParamKind::Plain,
        Some("1C-RARUS"),
    ),
    p(
        "sms4b-token",
        "sms4b API token (from the sms4b account)",
        ParamKind::Secret,
        None,
    ),
    p(
        "public-dns",
        "Public DNS name of the service",
        ParamKind::Plain,
        None,
    ),
    p(
        "docker-image",
        "Docker image new environments run",
        ParamKind::Plain,
        None,
    ),
    p(
        "nfs-server",
        "NFS server for static files",
        ParamKind::Plain,
        None,
    ),
];

/// The LMS_* env vars of the document's ConfigMap, in its order, with its conversion
/// artefacts fixed (`file://`, `:8080`, the PostgreSQL DSN) and the PostgreSQL role and
/// database named in lower case, as PostgreSQL folds the unquoted names the setup Job uses.
pub const DEFAULT_ENV: &[(&str, &str)] = &[
    ("LMS_CLIENT_ID", "{{client-id}}"),
    ("LMS_SERVER_DEBUG", "true"),
    ("LMS_SERVER_PORT", ":8080"),
    ("LMS_SERVER_STATIC", "/mnt/image/static"),
    ("LMS_KEYS_SECRET_SEED", "{{keys-secret-seed}}"),
    ("LMS_KEYS_TOKEN_TTL_HOURS", "{{keys-token-ttl-hours}}"),
    ("LMS_KEYS_PRIVATE_KEY_PATH", "{{keys-rsa-path}}"),
    ("LMS_LOGS_DIRECTORY", "logs"),
    ("LMS_LOGS_FILENAME", "log.log"),
    ("LMS_LOGS_LOG_TO_FILE", "false"),
    ("LMS_LOGS_MAX_AGE_DAY", "1"),
    ("LMS_LOGS_MAX_BACKUPS", "3"),
    ("LMS_LOGS_MAX_SIZE_MB", "1"),
    (
        "LMS_NOTIFICATIONS_SMS4B_PASSCODE_LIFETIME",
        "{{sms4b-passcode-lifetime-seconds}}",
    ),
    ("LMS_NOTIFICATIONS_SMS4B_SENDER", "{{sms4b-sender}}"),
    ("LMS_NOTIFICATIONS_SMS4B_TOKEN", "{{sms4b-token}}"),
    (
        "LMS_STORAGE_CLICKHOUSE_DEMO",
        "internal/server/demodata/clickhouse",
    ),
    (
        "LMS_STORAGE_CLICKHOUSE_DSN",
        "clickhouse://{{client-id}}:{{clickhouse-user-password}}@{{clickhouse-host}}:9000/{{client-id}}",
    ),
    ("LMS_STORAGE_CLICKHOUSE_INTERVAL_MS", "100"),
    (
        "LMS_STORAGE_CLICKHOUSE_MIGRATIONS",
        "file://internal/server/migrations/clickhouse",
    ),
    ("LMS_STORAGE_CLICKHOUSE_UPDATE_ATTEMPTS", "3"),
    (
        "LMS_STORAGE_POSTGRES_DEMO",
        "internal/server/demodata/postgres",
    ),
    (
        "LMS_STORAGE_POSTGRES_DSN",
        "postgres://{{client-id | lower}}:{{postgres-user-password}}@{{postgres-host}}:5432/{{client-id | lower}}?sslmode=disable",
    ),
    ("LMS_STORAGE_POSTGRES_INTERVAL_MS", "100"),
    (
        "LMS_STORAGE_POSTGRES_MIGRATIONS",
        "file://internal/server/migrations/postgres",
    ),
    ("LMS_STORAGE_POSTGRES_UPDATE_ATTEMPTS", "3"),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::{EnvValue, EnvVarName};
    use crate::macros::macros_in;
    use crate::param::ParamName;

    #[test]
    fn every_default_env_var_is_valid_and_uses_only_known_parameters() {
        for (name, value) in DEFAULT_ENV {
            EnvVarName::parse(name).unwrap();
            EnvValue::parse(value).unwrap();
            for m in macros_in(value).unwrap() {
                assert!(
                    BUILTIN_PARAMS.iter().any(|p| p.name == m.name),
                    "{name} uses unknown {}",
                    m.name
                );
            }
        }
    }

    #[test]
    fn every_builtin_parameter_has_a_valid_name_and_no_secret_default() {
        for p in BUILTIN_PARAMS {
            ParamName::parse(p.name).unwrap();
            assert!(!(p.kind.is_secret() && p.default.is_some()), "{}", p.name);
        }
    }

    #[test]
    fn no_default_points_at_the_customers_hosts() {
        let all: Vec<&str> = BUILTIN_PARAMS
            .iter()
            .filter_map(|p| p.default)
            .chain(DEFAULT_ENV.iter().map(|(_, v)| *v))
            .collect();
        for v in all {
            assert!(!v.contains("rarus"), "{v}");
            assert!(!v.contains("10.66."), "{v}");
        }
    }
}
