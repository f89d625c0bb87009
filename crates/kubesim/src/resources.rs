//! The resource types kubesim serves, as discovery lists them.

/// One resource type: where it lives in the API and what it is called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resource {
    pub group: &'static str,
    pub version: &'static str,
    pub plural: &'static str,
    pub singular: &'static str,
    pub kind: &'static str,
    pub namespaced: bool,
    pub short_names: &'static [&'static str],
    pub subresources: &'static [&'static str],
    /// Discovery's `categories`: `kubectl get all` lists the kinds in `all`.
    pub categories: &'static [&'static str],
}

impl Resource {
    /// `v1` or `apps/v1`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_owned()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The kind as error messages qualify it: `ConfigMap`, `Deployment.apps`.
    pub fn qualified_kind(&self) -> String {
        if self.group.is_empty() {
            self.kind.to_owned()
        } else {
            format!("{}.{}", self.kind, self.group)
        }
    }

    /// The resource as NotFound messages name it: `configmaps`, `deployments.apps`.
    pub fn qualified_plural(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_owned()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }
}

const fn r(
    group: &'static str,
    plural: &'static str,
    singular: &'static str,
    kind: &'static str,
    namespaced: bool,
    short_names: &'static [&'static str],
    subresources: &'static [&'static str],
) -> Resource {
    Resource {
        group,
        version: "v1",
        plural,
        singular,
        kind,
        namespaced,
        short_names,
        subresources,
        categories: &[],
    }
}

/// A resource in the `all` category.
const fn all(r: Resource) -> Resource {
    Resource {
        categories: &["all"],
        ..r
    }
}

pub const RESOURCES: &[Resource] = &[
    r(
        "",
        "namespaces",
        "namespace",
        "Namespace",
        false,
        &["ns"],
        &["status"],
    ),
    r(
        "",
        "configmaps",
        "configmap",
        "ConfigMap",
        true,
        &["cm"],
        &[],
    ),
    r("", "secrets", "secret", "Secret", true, &[], &[]),
    all(r(
        "",
        "services",
        "service",
        "Service",
        true,
        &["svc"],
        &["status"],
    )),
    all(r(
        "",
        "pods",
        "pod",
        "Pod",
        true,
        &["po"],
        &["status", "log"],
    )),
    r("", "events", "event", "Event", true, &["ev"], &[]),
    all(r(
        "apps",
        "deployments",
        "deployment",
        "Deployment",
        true,
        &["deploy"],
        &["status", "scale"],
    )),
    all(r(
        "apps",
        "replicasets",
        "replicaset",
        "ReplicaSet",
        true,
        &["rs"],
        &["status", "scale"],
    )),
    all(r("batch", "jobs", "job", "Job", true, &[], &["status"])),
    r(
        "networking.k8s.io",
        "ingresses",
        "ingress",
        "Ingress",
        true,
        &["ing"],
        &["status"],
    ),
    r("", "nodes", "node", "Node", false, &["no"], &["status"]),
    r(
        "",
        "serviceaccounts",
        "serviceaccount",
        "ServiceAccount",
        true,
        &["sa"],
        &[],
    ),
    all(r(
        "",
        "replicationcontrollers",
        "replicationcontroller",
        "ReplicationController",
        true,
        &["rc"],
        &["status", "scale"],
    )),
    all(r(
        "apps",
        "daemonsets",
        "daemonset",
        "DaemonSet",
        true,
        &["ds"],
        &["status"],
    )),
    all(r(
        "apps",
        "statefulsets",
        "statefulset",
        "StatefulSet",
        true,
        &["sts"],
        &["status", "scale"],
    )),
    all(r(
        "batch",
        "cronjobs",
        "cronjob",
        "CronJob",
        true,
        &["cj"],
        &["status"],
    )),
    r(
        "rbac.authorization.k8s.io",
        "roles",
        "role",
        "Role",
        true,
        &[],
        &[],
    ),
    r(
        "rbac.authorization.k8s.io",
        "rolebindings",
        "rolebinding",
        "RoleBinding",
        true,
        &[],
        &[],
    ),
    r(
        "apiregistration.k8s.io",
        "apiservices",
        "apiservice",
        "APIService",
        false,
        &[],
        &["status"],
    ),
];

pub fn find(group: &str, version: &str, plural: &str) -> Option<&'static Resource> {
    RESOURCES
        .iter()
        .find(|r| r.group == group && r.version == version && r.plural == plural)
}

pub fn by_kind(kind: &str) -> Option<&'static Resource> {
    RESOURCES.iter().find(|r| r.kind == kind)
}

pub fn groups() -> Vec<&'static str> {
    let mut g: Vec<&str> = RESOURCES
        .iter()
        .map(|r| r.group)
        .filter(|g| !g.is_empty())
        .collect();
    let mut seen = std::collections::HashSet::new();
    g.retain(|x| seen.insert(*x));
    g
}

pub const NAMESPACES: &Resource = &RESOURCES[0];
pub const PODS: &Resource = &RESOURCES[4];
pub const EVENTS: &Resource = &RESOURCES[5];
pub const DEPLOYMENTS: &Resource = &RESOURCES[6];
pub const REPLICASETS: &Resource = &RESOURCES[7];
pub const JOBS: &Resource = &RESOURCES[8];
pub const CONFIGMAPS: &Resource = &RESOURCES[1];
pub const SECRETS: &Resource = &RESOURCES[2];
pub const NODES: &Resource = &RESOURCES[10];
pub const REPLICATIONCONTROLLERS: &Resource = &RESOURCES[12];
pub const DAEMONSETS: &Resource = &RESOURCES[13];
pub const STATEFULSETS: &Resource = &RESOURCES[14];
pub const CRONJOBS: &Resource = &RESOURCES[15];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_named_constants_point_at_their_kinds() {
        for (r, kind) in [
            (NAMESPACES, "Namespace"),
            (CONFIGMAPS, "ConfigMap"),
            (SECRETS, "Secret"),
            (PODS, "Pod"),
            (EVENTS, "Event"),
            (DEPLOYMENTS, "Deployment"),
            (REPLICASETS, "ReplicaSet"),
            (JOBS, "Job"),
            (NODES, "Node"),
            (REPLICATIONCONTROLLERS, "ReplicationController"),
            (DAEMONSETS, "DaemonSet"),
            (STATEFULSETS, "StatefulSet"),
            (CRONJOBS, "CronJob"),
        ] {
            assert_eq!(r.kind, kind);
        }
    }
}
