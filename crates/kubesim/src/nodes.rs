//! The simulated nodes: a few Node objects, made at start, that pods are scheduled onto.

use serde_json::{Value, json};

use crate::registry::{create_object, now};
use crate::resources::NODES;
use crate::sim::Shared;

/// The nodes every simulated cluster has.
pub const NAMES: [&str; 2] = ["kubesim-node-1", "kubesim-node-2"];

/// The internal IP of node `i` (its index in [`NAMES`]).
pub fn ip(node: &str) -> String {
    let i = NAMES.iter().position(|n| *n == node).unwrap_or(0);
    format!("10.0.0.{}", 10 + i)
}

/// The node a pod without one is scheduled onto: spread by its uid, stable.
pub fn for_pod(uid: &str) -> &'static str {
    let h = uid
        .bytes()
        .fold(0usize, |a, b| a.wrapping_mul(31).wrapping_add(b.into()));
    NAMES[h % NAMES.len()]
}

/// Creates the Node objects, Ready, as a kubelet registers them.
pub fn register(sim: &Shared) {
    for name in NAMES {
        let t = now();
        let node = json!({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {
                "kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
                "beta.kubernetes.io/arch": "amd64"}},
            "spec": {"podCIDR": pod_cidr(name), "podCIDRs": [pod_cidr(name)]},
            "status": {
                "capacity": resources(), "allocatable": resources(),
                "conditions": [
                    condition("MemoryPressure", "False", "KubeletHasSufficientMemory", &t),
                    condition("DiskPressure", "False", "KubeletHasNoDiskPressure", &t),
                    condition("PIDPressure", "False", "KubeletHasSufficientPID", &t),
                    condition("Ready", "True", "KubeletReady", &t),
                ],
                "addresses": [{"type": "InternalIP", "address": ip(name)}, {"type": "Hostname", "address": name}],
                "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                "nodeInfo": {"architecture": "amd64", "operatingSystem": "linux",
                    "kubeletVersion": "v1.33.0-kubesim", "kubeProxyVersion": "v1.33.0-kubesim",
                    "containerRuntimeVersion": "containerd://2.0.0", "osImage": "kubesim",
                    "kernelVersion": "6.1.0", "machineID": "", "systemUUID": "", "bootID": ""},
            },
        });
        let _ = create_object(sim, NODES, "", node);
    }
}

fn pod_cidr(node: &str) -> String {
    let i = NAMES.iter().position(|n| *n == node).unwrap_or(0);
    format!("10.244.{i}.0/24")
}

fn resources() -> Value {
    json!({"cpu": "4", "memory": "8Gi", "pods": "110", "ephemeral-storage": "100Gi"})
}

fn condition(kind: &str, status: &str, reason: &str, t: &str) -> Value {
    json!({"type": kind, "status": status, "reason": reason, "message": "",
           "lastHeartbeatTime": t, "lastTransitionTime": t})
}
