//! An environment's health, in the gitops-engine manner: each object's health, and the
//! environment's is the worst of them, with the reason and the object that decides it.

use serde::Serialize;
use serde_json::Value;

use super::{Health, PodRules, deployment_health, job_health, object_name, pod_health};

/// Health of an object or of a whole environment, best first: the worst decides.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum EnvHealth {
    Healthy,
    /// Scaled to zero on purpose.
    Suspended,
    Progressing,
    /// Expected, and not in the cluster.
    Missing,
    Degraded,
    /// Its state cannot be told.
    Unknown,
}

impl EnvHealth {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Healthy => "Healthy",
            Self::Suspended => "Suspended",
            Self::Progressing => "Progressing",
            Self::Missing => "Missing",
            Self::Degraded => "Degraded",
            Self::Unknown => "Unknown",
        }
    }
}

impl std::fmt::Display for EnvHealth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One object's health, why, and which object it is.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObjectHealth {
    pub health: EnvHealth,
    /// `Deployment lms-dev/lms-deployment-c1`.
    pub object: String,
    /// Empty when healthy.
    pub reason: String,
}

/// An object's health by its kind's rules; `None` for an object expected but not found.
/// Kinds without a status (ConfigMap, Secret, Service of type ClusterIP, Ingress) are
/// healthy when they exist.
pub fn object_health(kind: &str, observed: Option<&Value>, expected_name: &str) -> ObjectHealth {
    let Some(obj) = observed else {
        return ObjectHealth {
            health: EnvHealth::Missing,
            object: format!("{kind} {expected_name}"),
            reason: format!("{kind} {expected_name} is not in the cluster"),
        };
    };
    let object = object_name(kind, obj);
    let (health, reason) = match kind {
        "Deployment" if obj.pointer("/spec/replicas").and_then(Value::as_i64) == Some(0) => {
            (EnvHealth::Suspended, format!("{object} is scaled to 0"))
        }
        "Deployment" => from_rule(deployment_health(obj)),
        "Job" => from_rule(job_health(obj)),
        // A pod's time-based rules need how long it was waited for: unknown here, so
        // only what is fatal at once counts.
        "Pod" => from_rule(pod_health(
            obj,
            std::time::Duration::ZERO,
            &PodRules::default(),
        )),
        "Service"
            if obj.pointer("/spec/type").and_then(Value::as_str) == Some("LoadBalancer")
                && obj
                    .pointer("/status/loadBalancer/ingress")
                    .and_then(Value::as_array)
                    .is_none_or(Vec::is_empty) =>
        {
            (
                EnvHealth::Progressing,
                format!("{object}: waiting for a load balancer address"),
            )
        }
        _ => (EnvHealth::Healthy, String::new()),
    };
    ObjectHealth {
        health,
        object,
        reason,
    }
}

fn from_rule(h: Health) -> (EnvHealth, String) {
    match h {
        Health::Ready => (EnvHealth::Healthy, String::new()),
        Health::Progressing(why) => (EnvHealth::Progressing, why),
        Health::Failed(f) => (EnvHealth::Degraded, f.to_string()),
    }
}

/// The environment's health: the worst of its objects' (the first of equals decides);
/// an environment with no objects is Missing.
pub fn environment(objects: &[ObjectHealth]) -> ObjectHealth {
    objects
        .iter()
        .fold(None::<&ObjectHealth>, |worst, o| match worst {
            Some(w) if w.health >= o.health => Some(w),
            _ => Some(o),
        })
        .cloned()
        .unwrap_or(ObjectHealth {
            health: EnvHealth::Missing,
            object: String::new(),
            reason: "nothing of the environment is in the cluster".into(),
        })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_worst_object_decides_and_a_missing_one_is_named() {
        let cm = json!({"kind": "ConfigMap", "metadata": {"name": "lms-config-c1", "namespace": "lms-dev"}});
        let failed_job = json!({"metadata": {"name": "postgres-setup-c1", "namespace": "lms-dev"},
            "status": {"conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "m"}]}});
        let suspended = json!({"metadata": {"name": "d", "namespace": "lms-dev", "generation": 1},
            "spec": {"replicas": 0}, "status": {"observedGeneration": 1}});
        let objects = [
            object_health("ConfigMap", Some(&cm), "lms-config-c1"),
            object_health("Deployment", Some(&suspended), "d"),
            object_health("Secret", None, "rsa-secret-c1"),
        ];
        let env = environment(&objects);
        assert_eq!(env.health, EnvHealth::Missing);
        assert_eq!(env.reason, "Secret rsa-secret-c1 is not in the cluster");
        let mut with_failure = objects.to_vec();
        with_failure.push(object_health("Job", Some(&failed_job), "postgres-setup-c1"));
        let env = environment(&with_failure);
        assert_eq!(env.health, EnvHealth::Degraded);
        assert_eq!(env.object, "Job lms-dev/postgres-setup-c1");
        assert_eq!(environment(&objects[1..2]).health, EnvHealth::Suspended);
        assert_eq!(environment(&[]).health, EnvHealth::Missing);
        assert!(
            EnvHealth::Healthy < EnvHealth::Suspended && EnvHealth::Degraded < EnvHealth::Unknown
        );
    }
}
