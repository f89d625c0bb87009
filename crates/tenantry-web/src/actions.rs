//! What the pages and the API both do to the catalog, once: each action checks the
//! caller's role, parses its input into domain values (a problem names its field),
//! writes, and records itself in the audit log. The page and the API handlers only
//! read their input and shape the answer.

use secrecy::SecretString;
use serde::Deserialize;
use tenantry_core::{ApiRootUrl, CaBundle, EnvVarName, NamespaceName, ParamKind, ParamName, Role};
use tenantry_store::{
    Namespace, NamespaceUpdate, NewNamespace, ParamEntry, Scope, StoredTemplate, StoredValue,
};

use crate::AppState;
use crate::auth::{Caller, RequestInfo};
use crate::error::WebError;

pub fn ns_name(field: &str, s: &str) -> Result<NamespaceName, WebError> {
    NamespaceName::parse(s.trim())
        .map_err(|e| WebError::field(field, crate::messages::namespace_name(&e)))
}

/// Global when empty, else the namespace named.
pub fn scope_of(s: &str) -> Result<Scope, WebError> {
    if s.trim().is_empty() {
        Ok(Scope::Global)
    } else {
        Ok(Scope::Namespace(ns_name("namespace", s)?))
    }
}

/// The scope as the audit log names it: the namespace, `namespace/C42` for a client's
/// override, or nothing for global.
fn scope_label(scope: &Scope) -> String {
    match scope {
        Scope::Global => String::new(),
        Scope::Namespace(n) => n.as_str().to_owned(),
        Scope::Client(n, c) => format!("{n}/{c}"),
    }
}

fn ca_of(s: Option<&str>) -> Result<Option<CaBundle>, WebError> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(pem) => CaBundle::parse(pem)
            .map(Some)
            .map_err(|e| WebError::field("ca_bundle", crate::messages::ca_bundle(&e))),
    }
}

fn api_url(s: &str) -> Result<ApiRootUrl, WebError> {
    ApiRootUrl::parse(s.trim())
        .map_err(|e| WebError::field("api_root_url", crate::messages::api_url(&e)))
}

/// A new namespace as a form or a JSON body gives it.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NamespaceInput {
    /// Tenantry's name for it, as a Kubernetes namespace name.
    #[schema(value_type = tenantry_core::NamespaceName)]
    pub name: String,
    /// The namespace in the cluster; the name when absent.
    #[serde(default)]
    #[schema(value_type = Option<tenantry_core::NamespaceName>)]
    pub k8s_namespace: Option<String>,
    /// The cluster's API root, e.g. a Rancher proxy `https://rancher.example/k8s/clusters/c-m-1`.
    #[schema(format = "http-url")]
    pub api_root_url: String,
    /// The cluster's bearer token.
    #[schema(format = "nonblank-text")]
    pub token: String,
    /// PEM certificates the cluster's TLS is checked with; blank: none.
    #[serde(default)]
    #[schema(format = "pem")]
    pub ca_bundle: Option<String>,
}

pub async fn create_namespace(
    state: &AppState,
    info: &RequestInfo,
    caller: &Caller,
    input: &NamespaceInput,
) -> Result<Namespace, WebError> {
    caller.require(Role::Admin)?;
    let token = input.token.trim();
    if token.is_empty() {
        return Err(WebError::field(
            "token",
            crate::error::Msg::both(
                "the cluster token is empty; paste the bearer token of the cluster's service account",
                "токен кластера пуст; вставьте bearer-токен служебной учётной записи кластера",
            ),
        ));
    }
    let new = NewNamespace {
        name: ns_name("name", &input.name)?,
        k8s_namespace: match input.k8s_namespace.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(k) => Some(ns_name("k8s_namespace", k)?),
        },
        api_root_url: api_url(&input.api_root_url)?,
        token: SecretString::from(token.to_owned()),
        ca_bundle: ca_of(input.ca_bundle.as_deref())?,
    };
    let ns = state.catalog.add_namespace(&new).await?;
    state
        .audit(
            &caller.name,
            &info.address,
            "create namespace",
            ns.name.as_str(),
            ns.api_root_url.as_str(),
        )
        .await;
    Ok(ns)
}

/// Changes to a namespace's settings; absent fields stay as they are (an empty token
/// too; an empty CA removes the CA).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NamespacePatch {
    #[serde(default)]
    #[schema(value_type = Option<tenantry_core::NamespaceName>)]
    pub k8s_namespace: Option<String>,
    /// A new API host needs the token again.
    #[serde(default)]
    #[schema(format = "http-url")]
    pub api_root_url: Option<String>,
    /// The cluster's bearer token; required again when the API host changes.
    #[serde(default)]
    #[schema(format = "nonblank-text")]
    pub token: Option<String>,
    /// PEM; blank removes it.
    #[serde(default)]
    #[schema(format = "pem")]
    pub ca_bundle: Option<String>,
    /// Correct drift automatically (a deploy, at most once per 5 minutes per
    /// environment, audited).
    #[serde(default)]
    pub self_heal: Option<bool>,
}

pub async fn update_namespace(
    state: &AppState,
    info: &RequestInfo,
    caller: &Caller,
    name: &str,
    patch: &NamespacePatch,
) -> Result<Namespace, WebError> {
    caller.require(Role::Admin)?;
    let ns = state.catalog.namespace(name).await?;
    let token = patch
        .token
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let update = NamespaceUpdate {
        k8s_namespace: patch
            .k8s_namespace
            .as_deref()
            .map(|k| ns_name("k8s_namespace", k))
            .transpose()?,
        api_root_url: patch.api_root_url.as_deref().map(api_url).transpose()?,
        token: token.map(|t| SecretString::from(t.to_owned())),
        ca_bundle: match &patch.ca_bundle {
            None => None,
            Some(pem) => Some(ca_of(Some(pem))?),
        },
        self_heal: patch.self_heal,
    };
    let updated = state
        .catalog
        .update_namespace(ns.name.as_str(), &update)
        .await?;
    let what = match (token.is_some(), patch.self_heal) {
        (_, Some(true)) => "settings; self-heal on",
        (_, Some(false)) => "settings; self-heal off",
        (true, None) => "settings and token",
        (false, None) => "settings",
    };
    state
        .audit(
            &caller.name,
            &info.address,
            "update namespace",
            ns.name.as_str(),
            what,
        )
        .await;
    Ok(updated)
}

/// What became of a parameter set.
#[derive(Debug)]
pub enum ParamSet {
    Saved,
    /// Nothing changed: an empty secret keeps the stored one.
    Kept,
}

/// A parameter no one defined, met without `create`.
fn unknown_param(name: &ParamName, entries: &[ParamEntry]) -> WebError {
    let known = entries
        .iter()
        .filter(|p| p.def.kind.is_settable())
        .map(|p| p.def.name.to_string())
        .collect();
    let hint = match tenantry_core::template_check::closest(name.as_str(), &known) {
        Some(s) => format!("did you mean {s}? "),
        None => String::new(),
    };
    WebError::UnknownParam {
        name: name.to_string(),
        suggestion: tenantry_core::template_check::closest(name.as_str(), &known),
        message: format!(
            "there is no parameter {name}; {hint}to create a new one, set `create` to true"
        ),
    }
}

/// A value for the audit log: secrets masked, absence named.
fn shown(v: Option<&StoredValue>) -> String {
    match v {
        None => "(not set)".to_owned(),
        Some(StoredValue::Plain(s)) => format!("{s:?}"),
        Some(StoredValue::Secret(_)) => tenantry_core::secret::MASK.to_owned(),
    }
}

/// Sets `param` in `scope`. A name no parameter has is refused unless `create`; an
/// empty secret over a stored one keeps it. The audit log keeps the old value beside
/// the new, secrets masked.
#[allow(clippy::too_many_arguments)]
pub async fn set_param(
    state: &AppState,
    info: &RequestInfo,
    caller: &Caller,
    scope: &Scope,
    param: &str,
    value: &str,
    secret: bool,
    create: bool,
) -> Result<ParamSet, WebError> {
    caller.require(Role::Admin)?;
    let param = ParamName::parse(param.trim())
        .map_err(|e| WebError::field("name", crate::messages::param_name(&e)))?;
    let entries = state.catalog.params(scope).await?;
    let old = entries.iter().find(|p| p.def.name == param);
    if old.is_none() && !create {
        return Err(unknown_param(&param, &entries));
    }
    let before = old.and_then(|o| match scope {
        Scope::Global => o.global.as_ref(),
        Scope::Namespace(_) => o.namespaced.as_ref(),
        Scope::Client(..) => o.client.as_ref(),
    });
    if secret && value.is_empty() && before.is_some() {
        return Ok(ParamSet::Kept);
    }
    let def = state
        .catalog
        .set_param(&param, scope, &SecretString::from(value.to_owned()), secret)
        .await?;
    let new = if matches!(def.kind, ParamKind::Plain) && !secret {
        format!("{value:?}")
    } else {
        tenantry_core::secret::MASK.to_owned()
    };
    state
        .audit(
            &caller.name,
            &info.address,
            if old.is_some() {
                "set parameter"
            } else {
                "create parameter"
            },
            &format!("{}/{param}", scope_label(scope)),
            &format!("{} → {new}", shown(before)),
        )
        .await;
    Ok(ParamSet::Saved)
}

pub async fn unset_param(
    state: &AppState,
    info: &RequestInfo,
    caller: &Caller,
    scope: &Scope,
    param: &str,
) -> Result<(), WebError> {
    caller.require(Role::Admin)?;
    let param = ParamName::parse(param.trim())
        .map_err(|e| WebError::field("name", crate::messages::param_name(&e)))?;
    let entries = state.catalog.params(scope).await?;
    let Some(old) = entries.iter().find(|p| p.def.name == param) else {
        return Err(WebError::not_found(format!("no parameter {param}")));
    };
    let before = match scope {
        Scope::Global => old.global.as_ref(),
        Scope::Namespace(_) => old.namespaced.as_ref(),
        Scope::Client(..) => old.client.as_ref(),
    };
    let before = shown(before);
    state.catalog.unset_param(&param, scope).await?;
    state
        .audit(
            &caller.name,
            &info.address,
            "unset parameter",
            &format!("{}/{param}", scope_label(scope)),
            &format!("was {before}"),
        )
        .await;
    Ok(())
}

pub async fn set_env(
    state: &AppState,
    info: &RequestInfo,
    caller: &Caller,
    scope: &Scope,
    name: &str,
    value: &str,
) -> Result<(), WebError> {
    caller.require(Role::Admin)?;
    let name = EnvVarName::parse(name.trim())
        .map_err(|e| WebError::field("name", crate::messages::env_name(&e)))?;
    let value = tenantry_core::env::EnvValue::parse(value).map_err(|e| match &e {
        tenantry_core::env::EnvValueError::Syntax(m) => WebError::field(
            "value",
            crate::error::Msg::both(e.to_string(), crate::messages::macro_ru(m)),
        ),
        tenantry_core::env::EnvValueError::TooLong(l) => WebError::Input {
            field: "value".into(),
            problem: crate::forms::InputProblem::Limit(l.clone()),
        },
    })?;
    state.catalog.set_env(scope, &name, &value).await?;
    state
        .audit(
            &caller.name,
            &info.address,
            "set env var",
            &format!("{}/{}", scope_label(scope), name.as_str()),
            value.as_str(),
        )
        .await;
    Ok(())
}

pub async fn unset_env(
    state: &AppState,
    info: &RequestInfo,
    caller: &Caller,
    scope: &Scope,
    name: &str,
) -> Result<(), WebError> {
    caller.require(Role::Admin)?;
    let name = EnvVarName::parse(name.trim())
        .map_err(|e| WebError::field("name", crate::messages::env_name(&e)))?;
    if !state.catalog.unset_env(scope, &name).await? {
        return Err(WebError::not_found(format!(
            "no env var {} {}",
            name.as_str(),
            match scope {
                Scope::Global => "set globally".to_owned(),
                Scope::Namespace(n) => format!("set in namespace {}", n.as_str()),
                Scope::Client(n, c) => format!("set for {c} in namespace {}", n.as_str()),
            }
        )));
    }
    state
        .audit(
            &caller.name,
            &info.address,
            "unset env var",
            &format!("{}/{}", scope_label(scope), name.as_str()),
            "",
        )
        .await;
    Ok(())
}

pub async fn restore_template(
    state: &AppState,
    info: &RequestInfo,
    caller: &Caller,
    name: &tenantry_core::template::TemplateName,
    version: i64,
) -> Result<StoredTemplate, WebError> {
    caller.require(Role::Admin)?;
    let saved = state
        .catalog
        .restore_template(name, version, &caller.name)
        .await?;
    state
        .audit(
            &caller.name,
            &info.address,
            "restore template",
            name.as_str(),
            &format!("version {version} as {}", saved.version),
        )
        .await;
    Ok(saved)
}

pub async fn change_role(
    state: &AppState,
    info: &RequestInfo,
    caller: &Caller,
    name: &str,
    role: Role,
) -> Result<(), WebError> {
    caller.require(Role::Admin)?;
    state.catalog.update_user(name, Some(role), None).await?;
    state
        .audit(
            &caller.name,
            &info.address,
            "change role",
            name,
            role.as_str(),
        )
        .await;
    Ok(())
}

pub async fn delete_user(
    state: &AppState,
    info: &RequestInfo,
    caller: &Caller,
    name: &str,
) -> Result<(), WebError> {
    caller.require(Role::Admin)?;
    if name == caller.user {
        return Err(WebError::conflict(crate::error::Msg::both(
            "you cannot delete yourself; ask another admin",
            "удалить самого себя нельзя; попросите другого администратора",
        )));
    }
    state.catalog.delete_user(name).await?;
    state
        .audit(&caller.name, &info.address, "delete user", name, "")
        .await;
    Ok(())
}

pub async fn revoke_token(
    state: &AppState,
    info: &RequestInfo,
    caller: &Caller,
    id: i64,
) -> Result<(), WebError> {
    caller.require(Role::Admin)?;
    if !state
        .catalog
        .revoke_api_token(id, crate::auth::unix_now())
        .await?
    {
        return Err(WebError::not_found(format!("no live API token #{id}")));
    }
    state
        .audit(
            &caller.name,
            &info.address,
            "revoke API token",
            &format!("#{id}"),
            "",
        )
        .await;
    Ok(())
}
