//! Adoption: environments built by hand with the team's templates come under tenantry's
//! management without being rebuilt. [`adopt`] lists the namespace, sorts its objects
//! into environments by the templates' names (core's [`tenantry_core::adopt`]), reads
//! each one's generated values (passwords, seed, RSA key) from where the templates put
//! them, renders what tenantry would send with those values and compares it with what
//! runs; unless it is a dry run, it then stores the client and its values (sealed, before
//! anything uses them), labels the objects as tenantry's (no pod restarts) and records
//! what runs as revision 0.

mod write;

use std::collections::BTreeMap;

use secrecy::SecretString;
use serde::Serialize;
use serde_json::Value;
use tenantry_core::adopt::{Extracted, Found, Marks, ObjectKey, Shape, discover, extract};
use tenantry_core::drift::{FieldDiff, differences};
use tenantry_core::{ClientId, OrgName, Redactor};
use tenantry_kube::{Cluster, ListSpec, Op};
use tenantry_store::Catalog;

use crate::deploy::{DeployError, connect, connect_to_read};
use crate::exec::DeployOptions;
use crate::fleet::{KINDS, masked_diff};
use crate::plan::{PlannedRequest, adoption_shapes, render_adopted};

/// What to adopt and how.
#[derive(Debug, Clone, Default)]
pub struct AdoptOptions {
    /// Report only: nothing is stored, no request but reads is sent.
    pub dry_run: bool,
    /// Adopt environments that lack objects too (a deploy then creates them).
    pub partial: bool,
    /// Organisation names of clients the catalog does not have yet.
    pub names: BTreeMap<ClientId, OrgName>,
}

/// What became (or would become) of one environment.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AdoptStatus {
    /// Taken under management now.
    Adopted,
    /// A dry run's: it would be adopted.
    WouldAdopt,
    /// Tenantry manages it already: nothing to do.
    AlreadyManaged,
    /// Objects are missing; adopting it needs `partial`.
    Incomplete,
    /// Not adopted; the reason says why.
    Skipped,
    /// Adopting it was tried and failed; the reason says why.
    Failed,
}

/// Why an environment was not adopted, typed (the report's `reason` says it in English).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    /// Tenantry manages it already.
    Managed,
    /// Objects are missing (the report's `missing`); `partial` adopts it.
    Incomplete,
    /// Tenantry deployed it before, yet its objects are not labelled as tenantry's.
    DeployedBefore,
    /// The client is archived in the catalog.
    Archived,
    /// Its plan does not render; the problems as the engine says them.
    DoesNotRender(String),
    /// The catalog holds other values for it than its objects (these names).
    SecretsDiffer(Vec<String>),
    /// Adopting it failed; the error as the engine and the cluster say it.
    Failed(String),
}

/// A generated value found in the cluster: where, never what.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct ValueFound {
    pub name: String,
    pub from: String,
}

/// An object a first deploy after adoption would change.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct ObjectChange {
    pub kind: String,
    pub name: String,
    /// `create` (missing now) or `update`.
    pub change: &'static str,
    /// The fields that differ, secrets masked.
    pub fields: Vec<FieldDiff>,
}

/// One environment of the report.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct EnvAdoption {
    pub client: ClientId,
    /// The client id as the cluster writes it.
    pub written: String,
    pub organisation: String,
    pub status: AdoptStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The same, typed (for pages in other languages).
    #[serde(skip)]
    pub why: Option<Why>,
    pub objects: Vec<ObjectKey>,
    pub missing: Vec<ObjectKey>,
    /// The generated values read from its objects (names and places only).
    pub values: Vec<ValueFound>,
    /// Generated values its objects do not hold: made at the first deploy.
    pub not_found: Vec<String>,
    pub conflicts: Vec<String>,
    /// What a first deploy after adoption would change.
    pub changes: Vec<ObjectChange>,
    /// Whether that deploy would roll the pods.
    pub restarts_pods: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<i64>,
}

/// What an adoption found and did in a namespace.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct AdoptReport {
    pub namespace: String,
    pub dry_run: bool,
    pub environments: Vec<EnvAdoption>,
    /// Objects that matched no environment (not tenantry's, not the cluster's own).
    pub unmatched: Vec<ObjectKey>,
}

impl AdoptReport {
    pub fn count(&self, status: AdoptStatus) -> usize {
        self.environments
            .iter()
            .filter(|e| e.status == status)
            .count()
    }
}

/// The namespace's objects of the kinds environments are made of, each with its kind
/// and API version (list items carry neither).
async fn list_all(cluster: &Cluster, k8s_ns: &str) -> Result<Vec<Value>, DeployError> {
    let mut out = Vec::new();
    for (kind, path) in KINDS {
        let list = ListSpec::new(path.replace("{ns}", k8s_ns));
        let answer = cluster.call(Op::List(&list)).await?;
        for o in answer["items"].as_array().into_iter().flatten() {
            let mut o = o.clone();
            o["kind"] = Value::from(*kind);
            o["apiVersion"] = answer["apiVersion"].clone();
            out.push(o);
        }
    }
    Ok(out)
}

/// Everything known of one environment before anything is written.
pub(crate) struct Surveyed {
    pub(crate) report: EnvAdoption,
    pub(crate) found: Found,
    pub(crate) values: Vec<(tenantry_core::ParamName, SecretString)>,
    pub(crate) plan: Vec<PlannedRequest>,
}

/// Finds the hand-made environments of `ns` and adopts them (see the module's text).
pub async fn adopt(
    catalog: &Catalog,
    ns: &str,
    opts: &AdoptOptions,
    run_opts: &DeployOptions,
) -> Result<AdoptReport, DeployError> {
    let (namespace, cluster) = connect(catalog, ns).await?;
    let (_, reader) = connect_to_read(catalog, ns).await?;
    let (shapes, marks) = adoption_shapes(catalog, ns).await?;
    let live = list_all(&reader, namespace.k8s_namespace.as_str()).await?;
    let discovery = discover(&shapes, &marks, &live);
    let mut environments = Vec::new();
    for (id, found) in discovery.environments {
        let mut s = survey(catalog, ns, &shapes, &marks, id, found, opts).await?;
        if s.report.status == AdoptStatus::WouldAdopt && !opts.dry_run {
            write::adopt_one(catalog, &cluster, ns, &shapes, &mut s, run_opts).await;
            // An object changed between the read and the write (a controller writing a
            // Deployment's status is enough: the patch carries the version read) — read
            // it again and go on, as a second run would: every write is idempotent.
            let mut tries = 0;
            while tries < 3
                && s.report.status == AdoptStatus::Failed
                && matches!(s.report.why, Some(Why::Failed(_)))
            {
                tries += 1;
                let live = list_all(&reader, namespace.k8s_namespace.as_str()).await?;
                let Some((_, found)) = discover(&shapes, &marks, &live)
                    .environments
                    .into_iter()
                    .find(|(c, _)| *c == id)
                else {
                    break;
                };
                let mut again = survey(catalog, ns, &shapes, &marks, id, found, opts).await?;
                if again.report.status != AdoptStatus::WouldAdopt {
                    break;
                }
                write::adopt_one(catalog, &cluster, ns, &shapes, &mut again, run_opts).await;
                s = again;
            }
        }
        environments.push(s.report);
    }
    Ok(AdoptReport {
        namespace: ns.to_owned(),
        dry_run: opts.dry_run,
        environments,
        unmatched: discovery.unmatched,
    })
}

/// One environment judged: whether it can be adopted, its values, what a deploy would
/// change. Reads the catalog; writes nothing.
async fn survey(
    catalog: &Catalog,
    ns: &str,
    shapes: &[Shape],
    marks: &Marks,
    id: ClientId,
    found: Found,
    opts: &AdoptOptions,
) -> Result<Surveyed, DeployError> {
    let known = match catalog.client(id).await {
        Ok(c) => Some(c),
        Err(tenantry_store::StoreError::ClientNotFound(_)) => None,
        Err(e) => return Err(e.into()),
    };
    let organisation = known
        .as_ref()
        .map(|c| c.name.as_str().to_owned())
        .or_else(|| opts.names.get(&id).map(|n| n.as_str().to_owned()))
        .unwrap_or_else(|| format!("{id} (adopted from {ns})"));
    let Extracted {
        values: taken,
        conflicts,
    } = extract(shapes, marks, &found);
    let mut objects: Vec<ObjectKey> = found
        .objects
        .values()
        .map(|o| ObjectKey {
            kind: o["kind"].as_str().unwrap_or("").to_owned(),
            name: o
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
        })
        .collect();
    objects.sort();
    let not_found: Vec<String> = marks
        .generated
        .keys()
        .filter_map(|i| marks.names.get(*i))
        .filter(|n| !taken.contains_key(*n))
        .cloned()
        .collect();
    let report = EnvAdoption {
        client: id,
        written: found.written.clone(),
        organisation,
        status: AdoptStatus::WouldAdopt,
        reason: None,
        why: None,
        objects,
        missing: found.missing.clone(),
        values: taken
            .iter()
            .map(|(n, t)| ValueFound {
                name: n.clone(),
                from: t.from.clone(),
            })
            .collect(),
        not_found,
        conflicts,
        changes: Vec::new(),
        restarts_pods: false,
        run: None,
        revision: None,
    };
    let values: Vec<(tenantry_core::ParamName, SecretString)> = taken
        .iter()
        .filter_map(|(n, t)| {
            let name = tenantry_core::ParamName::parse(n).ok()?;
            Some((name, SecretString::from(t.value.clone())))
        })
        .collect();
    let recorded =
        catalog.environment(id, ns).await?.is_some() || catalog.has_revisions(id, ns).await?;
    let mut out = Surveyed {
        report,
        found,
        values,
        plan: Vec::new(),
    };
    let skip = |out: &mut Surveyed, status, why: Why, reason: String| {
        out.report.status = status;
        out.report.reason = Some(reason);
        out.report.why = Some(why);
    };
    if recorded && out.found.managed(id) {
        skip(
            &mut out,
            AdoptStatus::AlreadyManaged,
            Why::Managed,
            format!("tenantry manages {id} in {ns} already"),
        );
        return Ok(out);
    }
    if recorded {
        skip(
            &mut out,
            AdoptStatus::Skipped,
            Why::DeployedBefore,
            format!(
                "tenantry has deployed {id} in {ns} before, yet these objects are not labelled as its own: deploy it (`tenantry deploy {id} --namespace {ns}`) rather than adopt it"
            ),
        );
        return Ok(out);
    }
    if known.as_ref().is_some_and(|c| c.archived) {
        skip(
            &mut out,
            AdoptStatus::Skipped,
            Why::Archived,
            format!("client {id} is archived in the catalog: restore it first"),
        );
        return Ok(out);
    }
    let given: BTreeMap<String, SecretString> = out
        .values
        .iter()
        .map(|(n, v)| (n.to_string(), v.clone()))
        .collect();
    let (plan, _) = match render_adopted(catalog, id, &out.report.organisation, ns, given).await {
        Ok(p) => p,
        Err(e) => {
            let text = e.to_string();
            skip(
                &mut out,
                AdoptStatus::Skipped,
                Why::DoesNotRender(text.clone()),
                text,
            );
            return Ok(out);
        }
    };
    let plan = crate::deploy::with_config_hash(plan);
    out.report.changes = changes(&plan, &out, id);
    out.report.restarts_pods = out.report.changes.iter().any(|c| {
        c.kind == "Deployment"
            && (c.change == "create"
                || c.fields.iter().any(|f| f.path.starts_with("spec.template")))
    });
    out.plan = plan;
    if !out.report.missing.is_empty() && !opts.partial {
        let names: Vec<String> = out.report.missing.iter().map(ToString::to_string).collect();
        skip(
            &mut out,
            AdoptStatus::Incomplete,
            Why::Incomplete,
            format!(
                "incomplete: {} missing; adopt it with --partial, and a deploy then creates what is missing",
                names.join(", ")
            ),
        );
    }
    Ok(out)
}

/// What a first deploy after adoption would change: each rendered object against the
/// live one as adoption leaves it (labelled, its config hash recorded).
fn changes(plan: &[PlannedRequest], s: &Surveyed, id: ClientId) -> Vec<ObjectChange> {
    let redactor = Redactor::new(&s.values.iter().map(|(_, v)| v.clone()).collect::<Vec<_>>());
    let hash = write::live_config_hash(&s.found, plan);
    let mut out = Vec::new();
    for r in plan {
        let Some(body) = &r.body else { continue };
        let (Some(kind), Some(name)) = (
            body["kind"].as_str(),
            body.pointer("/metadata/name").and_then(Value::as_str),
        ) else {
            continue;
        };
        let Some(live) = s.found.objects.get(r.template.as_str()) else {
            out.push(ObjectChange {
                kind: kind.to_owned(),
                name: name.to_owned(),
                change: "create",
                fields: Vec::new(),
            });
            continue;
        };
        let after = write::as_owned(live, id, (kind == "Deployment").then_some(hash.as_str()));
        let fields: Vec<FieldDiff> = differences(body, &after)
            .iter()
            .map(|f| masked_diff(kind, f, &redactor))
            .collect();
        if !fields.is_empty() {
            out.push(ObjectChange {
                kind: kind.to_owned(),
                name: name.to_owned(),
                change: "update",
                fields,
            });
        }
    }
    out
}
