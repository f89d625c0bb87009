//! The customer's eight requests as default templates: same objects, names, labels, env
//! var names and order as the document, with its defects fixed:
//!
//! - Kubernetes names use `{{client-id | lower}}` (object names must be lower-case
//!   RFC 1123); label values keep `{{client-id}}`, which is valid there.
//! - The PostgreSQL role and database are the lower-case id, in the Job and in the DSN
//!   alike, as PostgreSQL folds unquoted identifiers.
//! - Each setup Job runs one bash script that stops at the first error (the document's
//!   ClickHouse Job ran only its first statement; its PostgreSQL Job hid every failure
//!   behind `|| true`). The PostgreSQL script is idempotent: a second run sets the current
//!   password. It creates the extensions as the administrator instead of making the
//!   client's role a superuser for a moment.
//! - JSON syntax, `file://`, `:8080`, the DSNs, the CORS snippet and the Deployment's
//!   interleaved `affinity`/`containers` are repaired.
//!
//! Kept as written, though worth a warning: the regex Ingress path with `pathType:
//! Prefix`, the key mounted with `defaultMode: 511`, passwords in a ConfigMap and Job env.

use serde_json::{Value, json};

use crate::template::{Method, Stage, Template, TemplateName, WaitFor};

/// Labels tenantry puts on every object it creates, to recognise its own.
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "tenantry");
pub const CLIENT_LABEL: &str = "tenantry.io/client";

const CLICKHOUSE_SCRIPT: &str = r#"set -euo pipefail
ch() { clickhouse-client --host "$CLICKHOUSE_HOST" --user "$CLICKHOUSE_USER" --password "$CLICKHOUSE_PASSWORD" --query "$1"; }
ch "CREATE DATABASE IF NOT EXISTS $USER_NAME;"
ch "CREATE USER IF NOT EXISTS $USER_NAME IDENTIFIED BY '$CH_PASSWORD';"
ch "GRANT ALL ON $USER_NAME.* TO $USER_NAME;"
ch "GRANT POSTGRES ON *.* TO $USER_NAME WITH GRANT OPTION;"
ch "GRANT CREATE TEMPORARY TABLE ON *.* TO $USER_NAME WITH GRANT OPTION;"
echo "ClickHouse database $USER_NAME is ready"
"#;

const POSTGRES_SCRIPT: &str = r#"set -euo pipefail
export PGHOST="$POSTGRES_HOST" PGUSER="$POSTGRES_USER" PGPASSWORD="$PGPASSWORDADMIN" PGCONNECT_TIMEOUT=10
psql -X -q -v ON_ERROR_STOP=1 -d postgres <<'SQL'
\getenv user USER_NAME
\getenv pw PG_PASSWORD
SELECT format('CREATE ROLE %I LOGIN', :'user') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'user')
\gexec
SELECT format('ALTER ROLE %I WITH LOGIN PASSWORD %L', :'user', :'pw')
\gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'user', :'user') WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'user')
\gexec
SELECT format('GRANT ALL PRIVILEGES ON DATABASE %I TO %I', :'user', :'user')
\gexec
SQL
psql -X -q -v ON_ERROR_STOP=1 -d "$USER_NAME" <<'SQL'
CREATE EXTENSION IF NOT EXISTS pgcrypto;
CREATE EXTENSION IF NOT EXISTS "uuid-ossp";
SQL
echo "PostgreSQL database $USER_NAME is ready"
"#;

const CLICKHOUSE_TEARDOWN: &str = r#"set -euo pipefail
ch() { clickhouse-client --host "$CLICKHOUSE_HOST" --user "$CLICKHOUSE_USER" --password "$CLICKHOUSE_PASSWORD" --query "$1"; }
ch "DROP USER IF EXISTS $USER_NAME;"
ch "DROP DATABASE IF EXISTS $USER_NAME;"
echo "ClickHouse database $USER_NAME is dropped"
"#;

const POSTGRES_TEARDOWN: &str = r#"set -euo pipefail
export PGHOST="$POSTGRES_HOST" PGUSER="$POSTGRES_USER" PGPASSWORD="$PGPASSWORDADMIN" PGCONNECT_TIMEOUT=10
psql -X -q -At -v ON_ERROR_STOP=1 -d postgres <<'SQL'
\getenv user USER_NAME
SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = :'user' AND pid <> pg_backend_pid();
SELECT format('DROP DATABASE IF EXISTS %I', :'user')
\gexec
SELECT format('DROP ROLE IF EXISTS %I', :'user')
\gexec
SQL
echo "PostgreSQL database $USER_NAME is dropped"
"#;

const CORS_SNIPPET: &str = "add_header 'Access-Control-Allow-Methods' 'GET, PUT, POST, OPTIONS, DELETE';\n\
add_header 'Access-Control-Allow-Headers' 'DNT, X-CustomHeader, Keep-Alive, User-Agent, X-Requested-With, If-Modified-Since, Cache-Control, Content-Type, Authorization';\n\
add_header 'Access-Control-Expose-Headers' 'Content-Length, Content-Range';";

fn labels(extra: &[(&str, &str)]) -> Value {
    let mut m = serde_json::Map::new();
    for (k, v) in extra {
        m.insert((*k).to_owned(), json!(v));
    }
    m.insert(MANAGED_BY.0.to_owned(), json!(MANAGED_BY.1));
    m.insert(CLIENT_LABEL.to_owned(), json!("{{client-id}}"));
    Value::Object(m)
}

fn env(pairs: &[(&str, &str)]) -> Value {
    Value::Array(
        pairs
            .iter()
            .map(|(n, v)| json!({"name": n, "value": v}))
            .collect(),
    )
}

fn setup_job(name: &str, script: &str, image: &str, container: &str, env_vars: Value) -> Value {
    json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": format!("{name}-{{{{client-id | lower}}}}"),
            "namespace": "{{namespace-id}}",
            "labels": labels(&[]),
        },
        "spec": {
            "template": {
                "metadata": {"labels": {"job-name": format!("{name}-{{{{client-id | lower}}}}")}},
                "spec": {
                    "containers": [{
                        "args": [script],
                        "command": ["/bin/bash", "-c"],
                        "env": env_vars,
                        "image": image,
                        "imagePullPolicy": "Always",
                        "name": container,
                    }],
                    "restartPolicy": "Never",
                },
            },
        },
    })
}

/// What differs between the default templates.
struct Spec<'a> {
    name: &'a str,
    description: &'a str,
    method: Method,
    path: &'a str,
    wait: WaitFor,
    after: &'a [&'a str],
    order: i64,
    body: Option<Value>,
}

fn template(s: Spec<'_>) -> Template {
    let name = |n: &str| TemplateName::parse(n).expect("default template names are valid");
    Template {
        name: name(s.name),
        description: s.description.to_owned(),
        method: s.method,
        path: s.path.to_owned(),
        wait: s.wait,
        after: s.after.iter().map(|a| name(a)).collect(),
        enabled: true,
        order: s.order,
        env_at: None,
        body: s.body,
        stage: Stage::Deploy,
    }
}

/// The teardown a decommission with `--drop-databases` runs: two Jobs that drop the
/// client's ClickHouse database and user and its PostgreSQL database and role. Both are
/// idempotent (a second run succeeds); they read the same parameters as the setup Jobs.
pub fn teardown_templates() -> Vec<Template> {
    let clickhouse = setup_job(
        "clickhouse-teardown",
        CLICKHOUSE_TEARDOWN,
        "yandex/clickhouse-client",
        "clickhouse-teardown",
        env(&[
            ("USER_NAME", "{{client-id}}"),
            ("CLICKHOUSE_PASSWORD", "{{clickhouse-admin-password}}"),
            ("CLICKHOUSE_USER", "{{clickhouse-admin-user}}"),
            ("CLICKHOUSE_HOST", "{{clickhouse-host}}"),
        ]),
    );
    let postgres = setup_job(
        "postgres-teardown",
        POSTGRES_TEARDOWN,
        "postgres:latest",
        "postgres-client",
        env(&[
            ("PGPASSWORDADMIN", "{{postgres-admin-password}}"),
            ("USER_NAME", "{{client-id | lower}}"),
            ("POSTGRES_USER", "{{postgres-admin-user}}"),
            ("POSTGRES_HOST", "{{postgres-host}}"),
        ]),
    );
    [
        ("clickhouse-teardown", "Job that drops the client's ClickHouse database and user (decommission --drop-databases)", clickhouse, 1),
        ("postgres-teardown", "Job that drops the client's PostgreSQL database and role (decommission --drop-databases)", postgres, 2),
    ]
    .into_iter()
    .map(|(name, description, body, order)| Template {
        stage: Stage::Decommission,
        ..template(Spec {
            name,
            description,
            method: Method::Post,
            path: "apis/batch/v1/namespaces/{{namespace-id}}/jobs",
            wait: WaitFor::JobComplete,
            after: &[],
            order,
            body: Some(body),
        })
    })
    .collect()
}

const JOBS: &[&str] = &["clickhouse-setup", "postgres-setup"];

/// The eight default templates, in the document's order.
pub fn default_templates() -> Vec<Template> {
    let clickhouse = setup_job(
        "clickhouse-setup",
        CLICKHOUSE_SCRIPT,
        "yandex/clickhouse-client",
        "clickhouse-setup",
        env(&[
            ("USER_NAME", "{{client-id}}"),
            ("CLICKHOUSE_PASSWORD", "{{clickhouse-admin-password}}"),
            ("CLICKHOUSE_USER", "{{clickhouse-admin-user}}"),
            ("CLICKHOUSE_HOST", "{{clickhouse-host}}"),
            ("CH_PASSWORD", "{{clickhouse-user-password}}"),
        ]),
    );
    let postgres = setup_job(
        "postgres-setup",
        POSTGRES_SCRIPT,
        "postgres:latest",
        "postgres-client",
        env(&[
            ("PGPASSWORDADMIN", "{{postgres-admin-password}}"),
            ("USER_NAME", "{{client-id | lower}}"),
            ("POSTGRES_USER", "{{postgres-admin-user}}"),
            ("POSTGRES_HOST", "{{postgres-host}}"),
            ("PG_PASSWORD", "{{postgres-user-password}}"),
        ]),
    );
    let configmap = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "lms-config-{{client-id | lower}}",
            "namespace": "{{namespace-id}}",
            "labels": labels(&[]),
        },
        "data": {},
    });
    let secret = json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "rsa-secret-{{client-id | lower}}",
            "namespace": "{{namespace-id}}",
            "labels": labels(&[]),
        },
        "data": {"rsa_key": "{{rsa-content}}"},
        "type": "Opaque",
    });
    let service = json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": "lms-service-{{client-id | lower}}",
            "namespace": "{{namespace-id}}",
            "labels": labels(&[]),
        },
        "spec": {
            "ports": [{"port": 8080, "protocol": "TCP", "targetPort": 8080}],
            "selector": {"app": "{{client-id}}-lms"},
            "type": "ClusterIP",
        },
    });
    let ingress = json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "annotations": {
                "nginx.ingress.kubernetes.io/configuration-snippet": CORS_SNIPPET,
                "nginx.ingress.kubernetes.io/enable-cors": "true",
                "nginx.ingress.kubernetes.io/rewrite-target": "/$1",
            },
            "name": "client-lms-ingress-{{client-id | lower}}",
            "namespace": "{{namespace-id}}",
            "labels": labels(&[]),
        },
        "spec": {
            "rules": [{
                "host": "{{public-dns}}",
                "http": {"paths": [{
                    "backend": {"service": {"name": "lms-service-{{client-id | lower}}", "port": {"number": 8080}}},
                    "path": "/{{client-id}}/(.*)",
                    "pathType": "Prefix",
                }]},
            }],
            "tls": [{"hosts": ["{{public-dns}}"], "secretName": "tls"}],
        },
    });
    let deployment = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "labels": labels(&[("app", "{{client-id}}-lms")]),
            "name": "lms-deployment-{{client-id | lower}}",
            "namespace": "{{namespace-id}}",
        },
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "{{client-id}}-lms"}},
            "strategy": {"rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1}, "type": "RollingUpdate"},
            "template": {
                "metadata": {"labels": {"app": "{{client-id}}-lms"}},
                "spec": {
                    "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                        "nodeSelectorTerms": [{"matchExpressions": [{"key": "rarus", "operator": "In", "values": ["lms"]}]}],
                    }}},
                    "containers": [{
                        "envFrom": [{"configMapRef": {"name": "lms-config-{{client-id | lower}}"}}],
                        "image": "{{docker-image}}",
                        "imagePullPolicy": "Always",
                        "name": "{{client-id | lower}}",
                        "ports": [{"containerPort": 8080, "name": "8080tcp", "protocol": "TCP"}],
                        "volumeMounts": [
                            {"mountPath": "/etc/lms", "name": "key"},
                            {"mountPath": "/mnt/image/static", "name": "data", "subPath": "{{client-id}}"},
                        ],
                    }],
                    "imagePullSecrets": [{"name": "repository-token"}],
                    "restartPolicy": "Always",
                    "volumes": [
                        {"name": "data", "nfs": {"path": "/mnt/nfs", "server": "{{nfs-server}}"}},
                        {"name": "key", "secret": {"defaultMode": 511, "secretName": "rsa-secret-{{client-id | lower}}"}},
                    ],
                },
            },
        },
    });
    let mut cm = template(Spec {
        name: "configmap",
        description: "ConfigMap lms-config-… with the env vars of the client environment (R5, R7.2)",
        method: Method::Post,
        path: "api/v1/namespaces/{{namespace-id}}/configmaps",
        wait: WaitFor::None,
        after: JOBS,
        order: 3,
        body: Some(configmap),
    });
    cm.env_at = Some("/data".into());
    vec![
        template(Spec {
            name: "clickhouse-setup",
            description: "Job that creates the client's ClickHouse database and user (R7.1)",
            method: Method::Post,
            path: "apis/batch/v1/namespaces/{{namespace-id}}/jobs",
            wait: WaitFor::JobComplete,
            after: &[],
            order: 1,
            body: Some(clickhouse),
        }),
        template(Spec {
            name: "postgres-setup",
            description: "Job that creates the client's PostgreSQL role, database and extensions (R7.1)",
            method: Method::Post,
            path: "apis/batch/v1/namespaces/{{namespace-id}}/jobs",
            wait: WaitFor::JobComplete,
            after: &[],
            order: 2,
            body: Some(postgres),
        }),
        cm,
        template(Spec {
            name: "secret",
            description: "Secret rsa-secret-… with the environment's RSA private key (R7.3)",
            method: Method::Post,
            path: "api/v1/namespaces/{{namespace-id}}/secrets",
            wait: WaitFor::None,
            after: JOBS,
            order: 4,
            body: Some(secret),
        }),
        template(Spec {
            name: "service",
            description: "Service lms-service-… on port 8080 (R7.4)",
            method: Method::Post,
            path: "api/v1/namespaces/{{namespace-id}}/services",
            wait: WaitFor::None,
            after: JOBS,
            order: 5,
            body: Some(service),
        }),
        template(Spec {
            name: "ingress",
            description: "Ingress client-lms-ingress-… on the shared reverse proxy (R7.4)",
            method: Method::Post,
            path: "apis/networking.k8s.io/v1/namespaces/{{namespace-id}}/ingresses",
            wait: WaitFor::None,
            after: JOBS,
            order: 6,
            body: Some(ingress),
        }),
        template(Spec {
            name: "deployment",
            description: "Deployment lms-deployment-… running the LMS image (R7.4)",
            method: Method::Post,
            path: "apis/apps/v1/namespaces/{{namespace-id}}/deployments",
            wait: WaitFor::RolloutReady,
            after: &["configmap", "secret", "service", "ingress"],
            order: 7,
            body: Some(deployment),
        }),
        template(Spec {
            name: "pods",
            description: "Pod monitoring: the environment's pods and their container states (R7.5, R10)",
            method: Method::Get,
            path: "api/v1/namespaces/{{namespace-id}}/pods?labelSelector=app={{client-id}}-lms",
            wait: WaitFor::PodsReady,
            after: &["deployment"],
            order: 8,
            body: None,
        }),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::defaults::BUILTIN_PARAMS;
    use crate::template::execution_order;

    #[test]
    fn the_defaults_are_valid_template_files_in_the_documents_order() {
        let ts = default_templates();
        for t in &ts {
            assert_eq!(&Template::parse(&t.to_file()).unwrap(), t, "{}", t.name);
            for m in t.macros_used() {
                assert!(
                    BUILTIN_PARAMS.iter().any(|p| p.name == m),
                    "{} uses unknown {m}",
                    t.name
                );
            }
        }
        let order: Vec<_> = execution_order(&ts)
            .unwrap()
            .iter()
            .map(|t| t.name.to_string())
            .collect();
        assert_eq!(
            order,
            [
                "clickhouse-setup",
                "postgres-setup",
                "configmap",
                "secret",
                "service",
                "ingress",
                "deployment",
                "pods"
            ]
        );
    }
}
