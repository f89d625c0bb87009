use serde_json::json;

use super::*;

/// A protobuf writer for fixtures: fields in the order given, as Go writes them.
#[derive(Default)]
struct W(Vec<u8>);

impl W {
    fn varint(&mut self, mut v: u64) {
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.0.push(b);
                return;
            }
            self.0.push(b | 0x80);
        }
    }
    fn int(mut self, tag: u64, v: i64) -> Self {
        self.varint(tag << 3);
        self.varint(v as u64);
        self
    }
    fn bytes(mut self, tag: u64, b: &[u8]) -> Self {
        self.varint((tag << 3) | 2);
        self.varint(b.len() as u64);
        self.0.extend_from_slice(b);
        self
    }
    fn str(self, tag: u64, s: &str) -> Self {
        self.bytes(tag, s.as_bytes())
    }
    fn msg(self, tag: u64, m: W) -> Self {
        self.bytes(tag, &m.0)
    }
    fn entry(self, tag: u64, k: &str, v: &str) -> Self {
        self.msg(tag, W::default().str(1, k).str(2, v))
    }
}

fn envelope(api_version: &str, kind: &str, raw: W) -> Vec<u8> {
    let unknown = W::default()
        .msg(1, W::default().str(1, api_version).str(2, kind))
        .msg(2, raw)
        .str(3, "")
        .str(4, "");
    [b"k8s\0".as_slice(), &unknown.0].concat()
}

/// ObjectMeta as Go writes it for `kubectl create`: every non-pointer field, empty or not,
/// and the zero creation time.
fn meta(name: &str) -> W {
    W::default()
        .str(1, name)
        .str(2, "")
        .str(3, "")
        .str(4, "")
        .str(5, "")
        .str(6, "")
        .int(7, 0)
        .msg(8, W::default().int(1, -62_135_596_800).int(2, 0))
}

#[test]
fn a_configmap_from_kubectl_create_decodes_to_the_json_it_means() {
    let cm = W::default()
        .msg(1, meta("settings"))
        .entry(2, "a", "1")
        .entry(2, "b", "")
        .msg(3, W::default().str(1, "blob").str(2, "\u{0}\u{1}"));
    let body = envelope("v1", "ConfigMap", cm);
    assert_eq!(
        decode(&body).unwrap(),
        json!({"kind": "ConfigMap", "apiVersion": "v1",
               "metadata": {"name": "settings"},
               "data": {"a": "1", "b": ""}, "binaryData": {"blob": "AAE="}})
    );
}

#[test]
fn a_deployment_keeps_zero_replicas_int_or_strings_quantities_and_times() {
    let container = W::default()
        .str(1, "web")
        .str(2, "nginx:1.27")
        .msg(6, W::default().str(1, "").int(3, 8080).str(4, "TCP"))
        .msg(
            8,
            W::default().msg(
                1,
                W::default()
                    .str(1, "cpu")
                    .msg(2, W::default().str(1, "250m")),
            ),
        );
    let template = W::default()
        .msg(1, W::default().entry(11, "app", "web"))
        .msg(2, W::default().msg(2, container));
    let strategy = W::default().str(1, "RollingUpdate").msg(
        2,
        W::default()
            .msg(1, W::default().int(1, 0).int(2, 1))
            .msg(2, W::default().int(1, 1).str(3, "25%")),
    );
    let spec = W::default()
        .int(1, 0)
        .msg(2, W::default().entry(1, "app", "web"))
        .msg(3, template)
        .msg(4, strategy);
    let created = W::default().int(1, 1_764_560_000).int(2, 0);
    let body = envelope(
        "apps/v1",
        "Deployment",
        W::default()
            .msg(1, meta("web").msg(8, created))
            .msg(2, spec)
            .msg(3, W::default()),
    );
    let d = decode(&body).unwrap();
    assert_eq!(d["spec"]["replicas"], json!(0));
    assert_eq!(
        d["spec"]["selector"],
        json!({"matchLabels": {"app": "web"}})
    );
    assert_eq!(
        d["spec"]["strategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": "25%"}})
    );
    let c = &d["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        c["ports"],
        json!([{"containerPort": 8080, "protocol": "TCP"}])
    );
    assert_eq!(c["resources"], json!({"limits": {"cpu": "250m"}}));
    assert_eq!(
        d["metadata"]["creationTimestamp"],
        json!("2025-12-01T03:33:20Z")
    );
    assert_eq!(d["status"], json!({}));
}

#[test]
fn packed_and_unpacked_repeated_numbers_both_decode() {
    // PodFailurePolicyOnExitCodesRequirement.values: repeated int32.
    let name = "api.batch.v1.PodFailurePolicyOnExitCodesRequirement";
    let mut packed = W::default();
    packed.varint(1);
    packed.varint(42);
    let bytes = W::default().str(2, "In").bytes(3, &packed.0).int(3, 7).0;
    assert_eq!(
        wire::decode(name, &bytes).unwrap(),
        json!({"operator": "In", "values": [1, 42, 7]})
    );
}

#[test]
fn bodies_that_are_not_messages_are_refused_with_the_reason() {
    assert!(matches!(decode(b"{\"kind\":1}"), Err(ProtoError::NoMagic)));
    let mut body = envelope("v1", "ConfigMap", W::default().msg(1, meta("x")));
    body.truncate(body.len() - 3);
    assert!(matches!(
        decode(&body),
        Err(ProtoError::Envelope(WireError::Truncated))
    ));
    let err = decode(&envelope("v1", "Gizmo", W::default())).unwrap_err();
    assert_eq!(
        err.to_string(),
        "no kind \"Gizmo\" is registered for version \"v1\""
    );
    let bad_utf8 = envelope(
        "v1",
        "ConfigMap",
        W::default().msg(1, W::default().bytes(1, &[0xff])),
    );
    assert!(
        decode(&bad_utf8)
            .unwrap_err()
            .to_string()
            .contains("not valid UTF-8")
    );
}

#[test]
fn every_kind_served_has_its_message() {
    for res in crate::resources::RESOURCES {
        assert!(
            message_of(res.kind, &res.api_version()).is_some(),
            "{} has no protobuf message",
            res.kind
        );
    }
    assert!(message_of("DeleteOptions", "v1").is_some());
    assert!(message_of("SelfSubjectAccessReview", "authorization.k8s.io/v1").is_some());
}

#[test]
fn go_durations_read_as_go_prints_them() {
    assert_eq!(wire::go_duration(3_600_000_000_000), "1h0m0s");
    assert_eq!(wire::go_duration(1_500_000_000), "1.5s");
    assert_eq!(wire::go_duration(90_000_000_000), "1m30s");
    assert_eq!(wire::go_duration(1_500_000), "1.5ms");
    assert_eq!(wire::go_duration(0), "0s");
}

#[test]
fn structs_go_embeds_inline_are_read_into_their_parent() {
    // Volume{name, VolumeSource{configMap{LocalObjectReference{name}, defaultMode}}}.
    let volume = W::default().str(1, "settings").msg(
        2,
        W::default().msg(
            19,
            W::default()
                .msg(1, W::default().str(1, "lms-settings"))
                .int(3, 0o644),
        ),
    );
    assert_eq!(
        wire::decode("api.core.v1.Volume", &volume.0).unwrap(),
        json!({"name": "settings", "configMap": {"name": "lms-settings", "defaultMode": 420}})
    );
}
