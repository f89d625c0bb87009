//! Rendering a client's plan: every enabled template resolved against the client, the
//! namespace, the parameters and the client's generated secrets. All or nothing: a plan
//! with any unresolved macro or invalid name is refused as a whole, naming every problem.

use std::collections::{BTreeMap, BTreeSet};

use secrecy::SecretString;
use serde::Serialize;
use serde_json::Value;
use tenantry_core::adopt::{Marks, Shape};
use tenantry_core::manifest::name_problems;
use tenantry_core::render::{self, Missing, RenderError, Secrets, Values};
use tenantry_core::template::{Method, Stage, Template, TemplateName, WaitFor, execution_order};
use tenantry_core::{ClientId, Generator, ParamKind, ParamName};
use tenantry_store::generate::RsaFormat;
use tenantry_store::{Catalog, ParamEntry, Scope, StoreError, StoredValue};

/// One request of a plan, ready to send.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct PlannedRequest {
    pub template: TemplateName,
    pub method: Method,
    /// The full URL: the namespace's API root (prefix kept) and the rendered path.
    pub url: String,
    /// The rendered path below the API root.
    pub path: String,
    pub body: Option<Value>,
    pub wait: WaitFor,
    pub after: Vec<TemplateName>,
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("client {0} is archived: restore it before building its environment")]
    Archived(ClientId),
    #[error("the templates cannot be ordered: {0}")]
    Order(String),
    #[error("the plan for {client} in {namespace} does not render, nothing was sent:\n{}{}", .problems.join("\n"), hint(.problems, .namespace))]
    Render {
        client: ClientId,
        namespace: String,
        problems: Vec<String>,
    },
}

fn hint(problems: &[String], namespace: &str) -> String {
    if problems.iter().any(|p| p.contains("has no value")) {
        format!(
            "\nset the missing values with `tenantry param set NAME VALUE --namespace {namespace}` (secrets with --stdin)"
        )
    } else {
        String::new()
    }
}

/// How generated RSA keys are written in a namespace, from the `rsa-key-format` parameter.
pub fn rsa_format(params: &[ParamEntry]) -> RsaFormat {
    params
        .iter()
        .find(|p| p.def.name.as_str() == RSA_FORMAT_PARAM)
        .and_then(|p| match p.effective() {
            Some(StoredValue::Plain(v)) => RsaFormat::parse(v),
            _ => None,
        })
        .unwrap_or_default()
}

/// The parameter that picks how generated RSA keys are written: `pkcs1` or `pkcs8`.
const RSA_FORMAT_PARAM: &str = "rsa-key-format";

/// Renders the plan of `client` in namespace `ns`. Generated secrets the plan needs are
/// created and stored first (once per client and namespace); with `Secrets::Mask` they
/// are shown masked.
pub async fn render_plan(
    catalog: &Catalog,
    client: ClientId,
    ns: &str,
    secrets: Secrets,
) -> Result<Vec<PlannedRequest>, PlanError> {
    let (revealed, masked) = render_plans(catalog, client, ns).await?;
    Ok(match secrets {
        Secrets::Reveal => revealed,
        Secrets::Mask => masked,
    })
}

/// The plan twice from one reading of the catalog: with secrets revealed (to send) and
/// masked (to show and to record). Generated values the plan needs and the client does
/// not have yet are made and stored first.
pub async fn render_plans(
    catalog: &Catalog,
    client: ClientId,
    ns: &str,
) -> Result<(Vec<PlannedRequest>, Vec<PlannedRequest>), PlanError> {
    render_with(
        catalog,
        Subject::Stored(client),
        ns,
        Stage::Deploy,
        Generation::Ensure,
        None,
    )
    .await
}

/// The teardown plan of a decommission with `--drop-databases` (the templates of stage
/// `decommission`), revealed and masked.
pub async fn render_teardown(
    catalog: &Catalog,
    client: ClientId,
    ns: &str,
) -> Result<(Vec<PlannedRequest>, Vec<PlannedRequest>), PlanError> {
    render_with(
        catalog,
        Subject::Stored(client),
        ns,
        Stage::Decommission,
        Generation::Ensure,
        None,
    )
    .await
}

/// The plan with secrets masked, changing nothing: generated values the client does not
/// have yet stand as placeholders (for previews and pages, which must not store state).
pub async fn render_preview(
    catalog: &Catalog,
    client: ClientId,
    ns: &str,
) -> Result<Vec<PlannedRequest>, PlanError> {
    Ok(render_with(
        catalog,
        Subject::Stored(client),
        ns,
        Stage::Deploy,
        Generation::Placeholder,
        None,
    )
    .await?
    .1)
}

/// The plan as it would be sent today, secrets revealed, changing nothing (values not
/// generated yet are placeholders): what the live objects are compared with to say
/// what a deploy would change. Never shown as it is.
pub(crate) async fn render_current(
    catalog: &Catalog,
    client: ClientId,
    ns: &str,
) -> Result<Vec<PlannedRequest>, PlanError> {
    Ok(render_with(
        catalog,
        Subject::Stored(client),
        ns,
        Stage::Deploy,
        Generation::Placeholder,
        None,
    )
    .await?
    .0)
}

/// The request `draft` would send for `client` in `ns` if it were saved, masked and
/// changing nothing (the template editor's preview of unsaved text). `None` when the
/// draft is disabled, so it would send nothing.
pub async fn render_draft(
    catalog: &Catalog,
    client: ClientId,
    ns: &str,
    draft: &Template,
) -> Result<Option<PlannedRequest>, PlanError> {
    let (_, masked) = render_with(
        catalog,
        Subject::Stored(client),
        ns,
        draft.stage,
        Generation::Placeholder,
        Some(draft),
    )
    .await?;
    Ok(masked.into_iter().find(|r| r.template == draft.name))
}

/// What becomes of generated values a client does not have yet.
#[derive(Debug, Clone)]
enum Generation {
    /// Made and stored, before anything uses them.
    Ensure,
    /// A placeholder; nothing is stored.
    Placeholder,
    /// These values (read from the cluster by an adoption), else the stored ones, else a
    /// placeholder; nothing is stored.
    Given(BTreeMap<String, SecretString>),
}

/// Whom a plan is rendered for.
#[derive(Debug, Clone)]
enum Subject<'a> {
    /// A client of the catalog.
    Stored(ClientId),
    /// A client an adoption is about to create (or has already).
    Adopting { id: ClientId, name: &'a str },
}

/// The plan an adopted environment would get: `given` are the generated values read from
/// its objects. Changes nothing; the client need not be in the catalog yet (`name` is
/// then its organisation). Revealed and masked.
pub async fn render_adopted(
    catalog: &Catalog,
    id: ClientId,
    name: &str,
    ns: &str,
    given: BTreeMap<String, SecretString>,
) -> Result<(Vec<PlannedRequest>, Vec<PlannedRequest>), PlanError> {
    render_with(
        catalog,
        Subject::Adopting { id, name },
        ns,
        Stage::Deploy,
        Generation::Given(given),
        None,
    )
    .await
}

/// The deploy templates of `ns` as adoption matches them (see
/// [`tenantry_core::adopt`]): each rendered with marks for values, env vars merged.
pub async fn adoption_shapes(
    catalog: &Catalog,
    ns: &str,
) -> Result<(Vec<Shape>, Marks), PlanError> {
    let namespace = catalog.namespace(ns).await?;
    let templates: Vec<Template> = catalog
        .templates()
        .await?
        .into_iter()
        .map(|t| t.template)
        .filter(|t| t.stage == Stage::Deploy)
        .collect();
    let ordered = execution_order(&templates).map_err(|e| PlanError::Order(e.to_string()))?;
    let scope = Scope::Namespace(namespace.name.clone());
    let generated: BTreeMap<String, Generator> = catalog
        .params(&scope)
        .await?
        .iter()
        .filter_map(|p| match p.def.kind {
            ParamKind::Generated(g) => Some((p.def.name.to_string(), g)),
            _ => None,
        })
        .collect();
    let env: Vec<(String, String)> = catalog
        .env_vars(&scope)
        .await?
        .into_iter()
        .map(|e| (e.name, e.value))
        .collect();
    Ok(tenantry_core::adopt::shapes(&ordered, &env, &generated))
}

/// Every secret a run of `client` in `ns` could meet: the namespace's token, the secret
/// parameters as the namespace sees them, and the client's generated values. A run's
/// records pass through it, so a cluster's message that echoes one shows the mask.
pub async fn redactor(
    catalog: &Catalog,
    client: ClientId,
    ns: &str,
) -> Result<tenantry_core::Redactor, PlanError> {
    let namespace = catalog.namespace(ns).await?;
    let mut values = vec![namespace.token.clone()];
    let scope = match catalog.client(client).await {
        Ok(_) => Scope::Client(namespace.name.clone(), client),
        Err(_) => Scope::Namespace(namespace.name.clone()),
    };
    for p in catalog.params(&scope).await? {
        if let Some(StoredValue::Secret(s)) = p.effective() {
            values.push(s.clone());
        }
    }
    for s in catalog.client_secrets(client, &namespace.name).await? {
        values.push(s.value);
    }
    Ok(tenantry_core::Redactor::new(&values))
}

/// Where the values of a client's rendering come from: the parameters with a value and
/// the env vars, by tier (env vars named `env NAME`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, Serialize)]
pub struct Sources {
    pub client: Vec<String>,
    pub namespace: Vec<String>,
    pub global: Vec<String>,
}

/// Where each value `client`'s rendering in `ns` uses comes from: its own overrides,
/// the namespace's, or the global ones.
pub async fn sources(catalog: &Catalog, client: ClientId, ns: &str) -> Result<Sources, PlanError> {
    let namespace = catalog.namespace(ns).await?;
    let scope = Scope::Client(namespace.name.clone(), client);
    let mut out = Sources::default();
    let mut put = |source, name: String| match source {
        tenantry_store::ValueSource::Client => out.client.push(name),
        tenantry_store::ValueSource::Namespace => out.namespace.push(name),
        tenantry_store::ValueSource::Global => out.global.push(name),
    };
    for p in catalog.params(&scope).await? {
        if let Some(source) = p.source() {
            put(source, p.def.name.to_string());
        }
    }
    for e in catalog.env_vars(&scope).await? {
        let source = match e.source {
            tenantry_store::EnvSource::Client => tenantry_store::ValueSource::Client,
            tenantry_store::EnvSource::Namespace => tenantry_store::ValueSource::Namespace,
            tenantry_store::EnvSource::Global => tenantry_store::ValueSource::Global,
        };
        put(source, format!("env {}", e.name));
    }
    Ok(out)
}

/// What a value that is not generated yet shows as in a preview.
pub const NOT_YET_GENERATED: &str = "(generated at the first deploy)";

async fn render_with(
    catalog: &Catalog,
    subject: Subject<'_>,
    ns: &str,
    stage: Stage,
    generation: Generation,
    draft: Option<&Template>,
) -> Result<(Vec<PlannedRequest>, Vec<PlannedRequest>), PlanError> {
    // A client of the catalog sees its own overrides; one being adopted has none yet.
    let (id, org, known) = match subject {
        Subject::Stored(id) => {
            let client = catalog.client(id).await?;
            if client.archived {
                return Err(PlanError::Archived(client.id));
            }
            (client.id, client.name.as_str().to_owned(), true)
        }
        Subject::Adopting { id, name } => match catalog.client(id).await {
            Ok(c) => (c.id, c.name.as_str().to_owned(), true),
            Err(StoreError::ClientNotFound(_)) => (id, name.to_owned(), false),
            Err(e) => return Err(e.into()),
        },
    };
    let namespace = catalog.namespace(ns).await?;
    let templates: Vec<Template> = catalog
        .templates()
        .await?
        .into_iter()
        .map(|t| t.template)
        .filter(|t| draft.is_none_or(|d| d.name != t.name))
        .chain(draft.cloned())
        .filter(|t| t.stage == stage)
        .collect();
    let ordered = execution_order(&templates).map_err(|e| PlanError::Order(e.to_string()))?;
    let scope = if known {
        Scope::Client(namespace.name.clone(), id)
    } else {
        Scope::Namespace(namespace.name.clone())
    };
    let params = catalog.params(&scope).await?;
    let uses_env = ordered.iter().any(|t| t.env_at.is_some());
    let env = if uses_env {
        catalog.env_vars(&scope).await?
    } else {
        vec![]
    };

    let mut values = Values::new();
    values
        .plain("client-id", id.to_string())
        .plain("organisation-name", org)
        .plain("namespace-id", namespace.k8s_namespace.as_str())
        .plain("api-root-url", namespace.api_root_url.as_str());
    let mut generators: BTreeMap<&str, Generator> = BTreeMap::new();
    let rsa_format = rsa_format(&params);
    for p in &params {
        match (p.def.kind, p.effective()) {
            (ParamKind::Generated(g), _) => {
                generators.insert(p.def.name.as_str(), g);
            }
            (ParamKind::Builtin, _) | (_, None) => {}
            (_, Some(StoredValue::Plain(v))) => {
                values.plain(p.def.name.as_str(), v.clone());
            }
            (_, Some(StoredValue::Secret(s))) => {
                values.secret(p.def.name.as_str(), s.clone());
            }
        }
    }

    // A secret in a path or a name would be shown wherever the request is; refuse
    // before anything is generated or sent (templates saved before this rule).
    let secret: BTreeSet<&str> = params
        .iter()
        .filter(|p| p.def.kind.is_secret() || matches!(p.effective(), Some(StoredValue::Secret(_))))
        .map(|p| p.def.name.as_str())
        .collect();
    let in_names: Vec<String> = ordered
        .iter()
        .flat_map(|t| {
            t.secrets_in_names(&|m| secret.contains(m))
                .into_iter()
                .map(move |p| format!("{}: {p}", t.name))
        })
        .collect();
    if !in_names.is_empty() {
        return Err(PlanError::Render {
            client: id,
            namespace: namespace.name.to_string(),
            problems: in_names,
        });
    }

    // Which generated values are used at all: only those are made.
    let mut used: BTreeSet<String> = BTreeSet::new();
    for t in &ordered {
        used.extend(t.macros_used());
    }
    for e in &env {
        if let Ok(ms) = tenantry_core::macros::macros_in(&e.value) {
            used.extend(ms.into_iter().map(|m| m.name));
        }
    }
    let needed: Vec<(ParamName, Generator)> = generators
        .iter()
        .filter(|(n, _)| used.contains(**n))
        .filter_map(|(n, g)| ParamName::parse(n).ok().map(|n| (n, *g)))
        .collect();

    // Refuse before generating anything when a plain macro has no value.
    let mut probe = values.clone();
    for (n, _) in &needed {
        probe.plain(n.as_str(), "");
    }
    let problems = render_all(
        &ordered,
        &env,
        &probe,
        &namespace.api_root_url,
        Secrets::Mask,
    )
    .err()
    .unwrap_or_default();
    if !problems.is_empty() {
        return Err(PlanError::Render {
            client: id,
            namespace: namespace.name.to_string(),
            problems,
        });
    }

    let placeholders = !matches!(generation, Generation::Ensure);
    match generation {
        Generation::Ensure => {
            let generated = catalog
                .ensure_client_secrets(id, &namespace.name, &needed, rsa_format)
                .await?;
            for s in generated {
                values.secret(&s.name, s.value);
            }
        }
        Generation::Placeholder | Generation::Given(_) => {
            let given = match &generation {
                Generation::Given(g) => g.clone(),
                _ => BTreeMap::new(),
            };
            let stored = catalog.client_secrets(id, &namespace.name).await?;
            for (n, _) in &needed {
                let value = given.get(n.as_str()).cloned().unwrap_or_else(|| {
                    stored
                        .iter()
                        .find(|s| s.name == n.as_str())
                        .map_or_else(|| NOT_YET_GENERATED.into(), |s| s.value.clone())
                });
                values.secret(n.as_str(), value);
            }
        }
    }
    let render_error = |problems| PlanError::Render {
        client: id,
        namespace: namespace.name.to_string(),
        problems,
    };
    let planned = render_all(
        &ordered,
        &env,
        &values,
        &namespace.api_root_url,
        Secrets::Reveal,
    )
    .map_err(render_error)?;
    // Names are checked on the real values: a masked secret never lands in a name.
    // (A preview's placeholders are not names: they are checked when they are made.)
    let mut problems = Vec::new();
    for r in planned.iter().filter(|_| !placeholders) {
        if let Some(body) = &r.body {
            problems.extend(
                name_problems(body)
                    .into_iter()
                    .map(|p| format!("{}: {p}", r.template)),
            );
        }
    }
    if !problems.is_empty() {
        return Err(render_error(problems));
    }
    let masked = render_all(
        &ordered,
        &env,
        &values,
        &namespace.api_root_url,
        Secrets::Mask,
    )
    .map_err(render_error)?;
    Ok((planned, masked))
}

fn describe(template: &TemplateName, e: RenderError) -> Vec<String> {
    match e {
        RenderError::Missing(ms) => ms
            .into_iter()
            .map(|Missing { name, at }| {
                format!("{template}: {{{{{name}}}}} has no value (used at {at})")
            })
            .collect(),
        RenderError::Syntax { at, error } => vec![format!("{template}: at {at}: {error}")],
    }
}

fn render_all(
    ordered: &[&Template],
    env: &[tenantry_store::EnvEntry],
    values: &Values,
    root: &tenantry_core::ApiRootUrl,
    secrets: Secrets,
) -> Result<Vec<PlannedRequest>, Vec<String>> {
    let mut problems = Vec::new();
    let mut out = Vec::new();
    for t in ordered {
        let path =
            render::render_text(&t.path, values, secrets, "path").map_err(|e| describe(&t.name, e));
        let mut body = match &t.body {
            Some(b) => render::render(b, values, secrets)
                .map(Some)
                .map_err(|e| describe(&t.name, e)),
            None => Ok(None),
        };
        if let (Some(at), Ok(Some(b))) = (&t.env_at, &mut body) {
            let mut data = serde_json::Map::new();
            for e in env {
                match render::render_text(&e.value, values, secrets, &format!("env {}", e.name)) {
                    Ok(v) => {
                        data.insert(e.name.clone(), Value::String(v));
                    }
                    Err(err) => problems.extend(describe(&t.name, err)),
                }
            }
            if let Some(Value::Object(target)) = b.pointer_mut(at) {
                target.extend(data);
            }
        }
        match (path, body) {
            (Ok(path), Ok(body)) => out.push(PlannedRequest {
                template: t.name.clone(),
                method: t.method,
                url: root.join(&path),
                path,
                body,
                wait: t.wait,
                after: t.after.clone(),
            }),
            (path, body) => {
                problems.extend(path.err().unwrap_or_default());
                problems.extend(body.err().unwrap_or_default());
            }
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}
