//! What tests, demos and benchmarks do to a running simulator without HTTP: seed objects
//! as the API would create them, read and hand-edit them, count requests, follow changes.
//! The store, the registry and the resource table stay private behind these.

use serde_json::Value;
use tokio::sync::broadcast;

use crate::resources::{self, RESOURCES, Resource};
use crate::server::Running;
use crate::status::ApiError;
use crate::store::{Change, Key, StoreError};

fn by_plural(plural: &str) -> Result<&'static Resource, ApiError> {
    RESOURCES
        .iter()
        .find(|r| r.plural == plural)
        .ok_or_else(|| ApiError::bad_request(format!("kubesim serves no resource {plural:?}")))
}

impl Running {
    /// Creates `obj` in `ns` (ignored for cluster-scoped kinds) as the API would —
    /// defaults, validation, server metadata, the namespace checked — without HTTP. Its
    /// kind is read from `obj`.
    pub fn create(&self, ns: &str, obj: Value) -> Result<Value, ApiError> {
        let kind = obj.get("kind").and_then(Value::as_str).unwrap_or_default();
        let res = resources::by_kind(kind)
            .ok_or_else(|| ApiError::bad_request(format!("kubesim serves no kind {kind:?}")))?;
        crate::registry::create_object(&self.shared, res, ns, obj)
    }

    /// The object `name` of the resource `plural` (`pods`, `deployments`) in `ns`.
    pub fn object(&self, plural: &str, ns: &str, name: &str) -> Option<Value> {
        let res = by_plural(plural).ok()?;
        self.shared
            .store
            .get(&Key::new(res, ns, name))
            .map(|v| (*v).clone())
    }

    /// Every object of the resource `plural` in `ns`, by name.
    pub fn objects(&self, plural: &str, ns: &str) -> Vec<Value> {
        let Ok(res) = by_plural(plural) else {
            return Vec::new();
        };
        let ns = res.namespaced.then_some(ns);
        let (items, _) = self.shared.store.list(&res.qualified_plural(), ns);
        items.into_iter().map(|v| (*v).clone()).collect()
    }

    /// Changes an object as someone editing it by hand would: `edit` gets a copy, and
    /// what it leaves is stored at a new version (nothing when it changed nothing).
    pub fn edit(
        &self,
        plural: &str,
        ns: &str,
        name: &str,
        edit: impl FnOnce(&mut Value),
    ) -> Result<Value, ApiError> {
        let res = by_plural(plural)?;
        self.shared
            .store
            .modify(&Key::new(res, ns, name), |current| {
                let mut next = current.clone();
                edit(&mut next);
                Some(next)
            })
            .map(|v| (*v).clone())
            .map_err(|e| match e {
                StoreError::NotFound => ApiError::not_found(res, name),
                e => crate::registry::store_err(res, name, e),
            })
    }

    /// How many objects the simulator holds.
    pub fn object_count(&self) -> usize {
        self.shared.store.len()
    }

    /// The current resource version.
    pub fn resource_version(&self) -> u64 {
        self.shared.store.current_rv()
    }

    /// Every change from now on, as watches see them.
    pub fn changes(&self) -> broadcast::Receiver<Change> {
        match self.shared.store.watch_from(self.shared.store.current_rv()) {
            Ok((_, rx)) => rx,
            Err(_) => unreachable!("the current version is never too old"),
        }
    }

    /// Requests served so far, by HTTP method.
    pub fn requests(&self) -> std::collections::BTreeMap<String, u64> {
        self.shared.requests()
    }

    /// The scenarios in force (set at start, or since by `set_scenarios` or the admin API).
    pub fn scenarios(&self) -> crate::scenarios::Scenarios {
        self.shared.scenarios()
    }
}
