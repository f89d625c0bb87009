//! Typed requests: which object or list, and what to do with it. Each becomes one HTTP
//! request built by kube-rs's `kube::core::Request` (selectors encoded, the right
//! content type for each kind of patch), and says how it is recorded.

use kube::core::params::{
    DeleteParams, ListParams, Patch, PatchParams, PostParams, Preconditions, WatchParams,
};
use kube::core::{Request, Selector};
use serde_json::{Value, json};

use crate::error::KubeError;

/// One object of the API: the collection it is in (`apis/apps/v1/namespaces/x/deployments`)
/// and its name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectRef {
    pub collection: String,
    pub name: String,
}

impl ObjectRef {
    pub fn new(collection: impl Into<String>, name: impl Into<String>) -> Self {
        let collection: String = collection.into();
        Self {
            collection: collection
                .split('?')
                .next()
                .unwrap_or("")
                .trim_matches('/')
                .to_owned(),
            name: name.into(),
        }
    }

    /// The object's path below the API root.
    pub fn path(&self) -> String {
        format!("{}/{}", self.collection, self.name)
    }

    /// The namespace in the collection's path, if it has one.
    pub fn namespace(&self) -> Option<&str> {
        namespace_in(&self.collection)
    }

    /// The resource's plural name (`deployments`).
    pub fn plural(&self) -> &str {
        self.collection.rsplit('/').next().unwrap_or("")
    }
}

/// The namespace named in a collection path (`…/namespaces/NS/plural`).
pub fn namespace_in(collection: &str) -> Option<&str> {
    let mut parts = collection.split('/');
    parts.find(|p| *p == "namespaces")?;
    parts.next().filter(|p| !p.is_empty())
}

/// A list: a collection and the selectors that narrow it.
#[derive(Debug, Clone, Default)]
pub struct ListSpec {
    pub collection: String,
    /// A label selector as the API reads it (`a=b,c in (d,e)`).
    pub labels: Option<String>,
    pub fields: Option<String>,
    /// At most this many objects per answer, the rest after `continue_token`.
    pub limit: Option<u32>,
    pub continue_token: Option<String>,
}

impl ListSpec {
    pub fn new(collection: impl Into<String>) -> Self {
        Self {
            collection: collection.into().trim_matches('/').to_owned(),
            ..Self::default()
        }
    }

    pub fn labels(mut self, selector: Selector) -> Self {
        self.labels = Some(selector.to_string());
        self
    }

    /// A label selector written out, as a template's path has it.
    pub fn labels_text(mut self, selector: impl Into<String>) -> Self {
        self.labels = Some(selector.into());
        self
    }

    pub fn fields(mut self, selector: impl Into<String>) -> Self {
        self.fields = Some(selector.into());
        self
    }

    /// One page of the list: at most `limit` objects, from `continue_token` (the
    /// previous page's `metadata.continue`).
    pub fn page(mut self, limit: u32, continue_token: Option<String>) -> Self {
        self.limit = Some(limit);
        self.continue_token = continue_token;
        self
    }

    /// One object by name.
    pub fn named(collection: impl Into<String>, name: &str) -> Self {
        Self::new(collection).fields(format!("metadata.name={name}"))
    }

    fn list_params(&self) -> ListParams {
        let mut lp = ListParams::default();
        if let Some(l) = &self.labels {
            lp = lp.labels(l);
        }
        if let Some(f) = &self.fields {
            lp = lp.fields(f);
        }
        if let Some(n) = self.limit {
            lp = lp.limit(n);
        }
        if let Some(c) = &self.continue_token {
            lp = lp.continue_token(c);
        }
        lp
    }

    fn watch_params(&self) -> WatchParams {
        let mut wp = WatchParams::default().timeout(290);
        if let Some(l) = &self.labels {
            wp = wp.labels(l);
        }
        if let Some(f) = &self.fields {
            wp = wp.fields(f);
        }
        wp
    }

    pub(crate) fn watch_request(&self, version: &str) -> Result<http::Request<Vec<u8>>, KubeError> {
        Request::new(format!("/{}", self.collection))
            .watch(&self.watch_params(), version)
            .map_err(build_error)
    }

    /// The list's path with its selectors, as it is recorded.
    pub fn path(&self) -> String {
        match Request::new(format!("/{}", self.collection)).list(&self.list_params()) {
            Ok(r) => r
                .uri()
                .to_string()
                .trim_start_matches('/')
                .trim_end_matches('?')
                .replace("?&", "?"),
            Err(_) => self.collection.clone(),
        }
    }
}

/// How a PATCH body is to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchKind {
    /// RFC 7386 JSON merge patch: works for every kind.
    Merge,
    /// RFC 6902 JSON patch: a list of operations.
    Json,
    /// Kubernetes' strategic merge patch: lists merged by their keys (built-in kinds).
    Strategic,
    /// Server-side apply, with tenantry as the field manager.
    Apply,
}

impl PatchKind {
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Merge => "application/merge-patch+json",
            Self::Json => "application/json-patch+json",
            Self::Strategic => "application/strategic-merge-patch+json",
            Self::Apply => "application/apply-patch+yaml",
        }
    }

    /// The kind a template's PATCH body is: a list of operations is a JSON patch,
    /// anything else a merge patch.
    pub fn of_body(body: &Value) -> Self {
        if body.is_array() {
            Self::Json
        } else {
            Self::Merge
        }
    }
}

/// How a delete reaches an object's dependents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Propagation {
    /// The object goes once its dependents are gone.
    Foreground,
    Background,
    Orphan,
}

/// One request to the API.
#[derive(Debug, Clone, Copy)]
pub enum Op<'a> {
    Get(&'a ObjectRef),
    List(&'a ListSpec),
    Create {
        collection: &'a str,
        body: &'a Value,
    },
    /// PUT: `body` carries the resourceVersion it replaces.
    Replace {
        object: &'a ObjectRef,
        body: &'a Value,
    },
    Patch {
        object: &'a ObjectRef,
        kind: PatchKind,
        body: &'a Value,
    },
    /// Delete, only if the object is still the one with `uid` when given.
    Delete {
        object: &'a ObjectRef,
        propagation: Propagation,
        uid: Option<&'a str>,
    },
    /// Sets the replicas through the `/scale` subresource.
    Scale {
        object: &'a ObjectRef,
        replicas: i32,
    },
    /// The last lines of a pod's log.
    Log {
        pod: &'a ObjectRef,
        tail_lines: u32,
        /// The instance before the current one (`previous=true`): a restarted
        /// container's crash.
        previous: bool,
    },
    /// A template's own request, as it is written.
    Raw {
        method: &'a str,
        path: &'a str,
        body: Option<&'a Value>,
    },
}

/// The field manager tenantry's server-side applies write as.
pub const FIELD_MANAGER: &str = "tenantry";

fn build_error(e: kube::core::request::Error) -> KubeError {
    KubeError::Other(format!("the request cannot be built: {e}"))
}

fn json_bytes(v: &Value) -> Result<Vec<u8>, KubeError> {
    serde_json::to_vec(v).map_err(|e| KubeError::Other(e.to_string()))
}

impl Op<'_> {
    /// The method as recorded.
    pub fn method(&self) -> &str {
        match self {
            Self::Get(_) | Self::List(_) | Self::Log { .. } => "GET",
            Self::Create { .. } => "POST",
            Self::Replace { .. } => "PUT",
            Self::Patch { .. } | Self::Scale { .. } => "PATCH",
            Self::Delete { .. } => "DELETE",
            Self::Raw { method, .. } => method,
        }
    }

    /// The method as a static word, for counting (a template's own request's method
    /// is one of the usual five, or counted as `OTHER`).
    pub fn method_static(&self) -> &'static str {
        match self.method().to_ascii_uppercase().as_str() {
            "GET" => "GET",
            "POST" => "POST",
            "PUT" => "PUT",
            "PATCH" => "PATCH",
            "DELETE" => "DELETE",
            _ => "OTHER",
        }
    }

    /// The HTTP request, its path (below the API root, without a leading slash).
    pub(crate) fn request(&self) -> Result<http::Request<Vec<u8>>, KubeError> {
        let req = |c: &str| Request::new(format!("/{c}"));
        let mut r = match *self {
            Self::Get(o) => req(&o.collection)
                .get(&o.name, &Default::default())
                .map_err(build_error)?,
            Self::List(l) => req(&l.collection)
                .list(&l.list_params())
                .map_err(build_error)?,
            Self::Create { collection, body } => req(collection.split('?').next().unwrap_or(""))
                .create(&PostParams::default(), json_bytes(body)?)
                .map_err(build_error)?,
            Self::Replace { object, body } => req(&object.collection)
                .replace(&object.name, &PostParams::default(), json_bytes(body)?)
                .map_err(build_error)?,
            Self::Patch { object, kind, body } => {
                let r = req(&object.collection);
                let pp = PatchParams::default();
                match kind {
                    PatchKind::Merge => r.patch(&object.name, &pp, &Patch::Merge(body)),
                    PatchKind::Strategic => r.patch(&object.name, &pp, &Patch::Strategic(body)),
                    PatchKind::Apply => r.patch(
                        &object.name,
                        &PatchParams::apply(FIELD_MANAGER).force(),
                        &Patch::Apply(body),
                    ),
                    // kube-rs builds JSON patches from its own type: the same request by hand.
                    PatchKind::Json => http::Request::patch(format!("/{}", object.path()))
                        .header(http::header::CONTENT_TYPE, kind.content_type())
                        .body(json_bytes(body)?)
                        .map_err(kube::core::request::Error::BuildRequest),
                }
                .map_err(build_error)?
            }
            Self::Delete {
                object,
                propagation,
                uid,
            } => {
                let mut dp = match propagation {
                    Propagation::Foreground => DeleteParams::foreground(),
                    Propagation::Background => DeleteParams::background(),
                    Propagation::Orphan => DeleteParams::orphan(),
                };
                if let Some(uid) = uid {
                    dp = dp.preconditions(Preconditions {
                        uid: Some(uid.to_owned()),
                        resource_version: None,
                    });
                }
                req(&object.collection)
                    .delete(&object.name, &dp)
                    .map_err(build_error)?
            }
            Self::Scale { object, replicas } => req(&object.collection)
                .patch_subresource(
                    "scale",
                    &object.name,
                    &PatchParams::default(),
                    &Patch::Merge(json!({"spec": {"replicas": replicas}})),
                )
                .map_err(build_error)?,
            Self::Log {
                pod,
                tail_lines,
                previous,
            } => {
                let previous = if previous { "&previous=true" } else { "" };
                http::Request::get(format!(
                    "/{}/log?tailLines={tail_lines}{previous}",
                    pod.path()
                ))
                .body(Vec::new())
                .map_err(|e| build_error(kube::core::request::Error::BuildRequest(e)))?
            }
            Self::Raw { method, path, body } => {
                let mut b = http::Request::builder()
                    .method(method)
                    .uri(format!("/{}", path.trim_start_matches('/')));
                let bytes = match body {
                    Some(v) => {
                        let ct = if method.eq_ignore_ascii_case("PATCH") {
                            PatchKind::of_body(v).content_type()
                        } else {
                            "application/json"
                        };
                        b = b.header(http::header::CONTENT_TYPE, ct);
                        json_bytes(v)?
                    }
                    None => Vec::new(),
                };
                b.body(bytes)
                    .map_err(|e| build_error(kube::core::request::Error::BuildRequest(e)))?
            }
        };
        r.headers_mut().insert(
            http::header::ACCEPT,
            http::HeaderValue::from_static("application/json"),
        );
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_carry_encoded_selectors_and_the_content_type_of_their_patch() {
        let jobs = ListSpec::new("apis/batch/v1/namespaces/lms-dev/jobs").labels(
            Selector::from_iter([("app.kubernetes.io/managed-by", "tenantry")]),
        );
        assert_eq!(
            jobs.path(),
            "apis/batch/v1/namespaces/lms-dev/jobs?labelSelector=app.kubernetes.io%2Fmanaged-by%3Dtenantry"
        );
        let dep = ObjectRef::new("apis/apps/v1/namespaces/lms-dev/deployments", "d");
        assert_eq!(dep.namespace(), Some("lms-dev"));
        assert_eq!(dep.plural(), "deployments");
        let body = json!({"spec": {"replicas": 0}});
        let ct = |op: Op<'_>| {
            op.request().unwrap().headers()[http::header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .to_owned()
        };
        let patch = |kind| Op::Patch {
            object: &dep,
            kind,
            body: &body,
        };
        assert_eq!(ct(patch(PatchKind::Merge)), "application/merge-patch+json");
        assert_eq!(
            ct(patch(PatchKind::Strategic)),
            "application/strategic-merge-patch+json"
        );
        let ops = json!([{"op": "replace", "path": "/spec/replicas", "value": 2}]);
        assert_eq!(
            ct(Op::Raw {
                method: "PATCH",
                path: "apis/apps/v1/namespaces/lms-dev/deployments/d",
                body: Some(&ops),
            }),
            "application/json-patch+json"
        );
        let scale = Op::Scale {
            object: &dep,
            replicas: 0,
        }
        .request()
        .unwrap();
        assert_eq!(
            scale.uri().path(),
            "/apis/apps/v1/namespaces/lms-dev/deployments/d/scale"
        );
        let del = Op::Delete {
            object: &dep,
            propagation: Propagation::Foreground,
            uid: Some("u1"),
        }
        .request()
        .unwrap();
        let sent: Value = serde_json::from_slice(del.body()).unwrap();
        assert_eq!(sent["propagationPolicy"], "Foreground");
        assert_eq!(sent["preconditions"]["uid"], "u1");
    }
}
