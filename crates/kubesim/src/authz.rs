//! `authorization.k8s.io/v1`, answered as for a cluster-admin: every access review is
//! allowed (`kubectl auth can-i …`, `kubectl auth can-i --list`). kubesim checks one
//! bearer token or none; it has no RBAC to evaluate, so it needs nothing from a review.

use serde_json::{Value, json};

use crate::status::ApiError;

pub const GROUP: &str = "authorization.k8s.io";
pub const VERSION: &str = "v1";

/// `/apis/authorization.k8s.io/v1`.
pub fn resource_list() -> Value {
    let r = |name: &str, kind: &str, namespaced: bool| json!({"name": name, "singularName": "", "namespaced": namespaced, "kind": kind, "verbs": ["create"]});
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": format!("{GROUP}/{VERSION}"),
           "resources": [
               r("selfsubjectaccessreviews", "SelfSubjectAccessReview", false),
               r("selfsubjectrulesreviews", "SelfSubjectRulesReview", false),
               r("subjectaccessreviews", "SubjectAccessReview", false),
               r("localsubjectaccessreviews", "LocalSubjectAccessReview", true)]})
}

/// Answers a POST below `/apis/authorization.k8s.io/v1/`: the review, with its status.
pub fn review(rest: &[&str], body: &[u8]) -> Result<Value, ApiError> {
    let kind = match rest {
        ["selfsubjectaccessreviews"] => "SelfSubjectAccessReview",
        ["selfsubjectrulesreviews"] => "SelfSubjectRulesReview",
        ["subjectaccessreviews"] => "SubjectAccessReview",
        ["namespaces", _, "localsubjectaccessreviews"] => "LocalSubjectAccessReview",
        _ => return Err(ApiError::not_found_path()),
    };
    // Protobuf reviews (kubectl's) arrive here already read into JSON.
    let mut review: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(format!("couldn't get version/kind; json parse error: {e}"))
    })?;
    if !review.get("spec").is_some_and(Value::is_object) {
        return Err(ApiError::unprocessable(format!(
            "{kind}.{GROUP} \"\" is invalid: spec: Required value"
        )));
    }
    review["apiVersion"] = json!(format!("{GROUP}/{VERSION}"));
    review["kind"] = json!(kind);
    if !review.get("metadata").is_some_and(Value::is_object) {
        review["metadata"] = json!({});
    }
    review["status"] = if kind == "SelfSubjectRulesReview" {
        json!({"resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
               "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
               "incomplete": false})
    } else {
        json!({"allowed": true, "reason": "kubesim lets every authenticated client do everything"})
    };
    Ok(review)
}
