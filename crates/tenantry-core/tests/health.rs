//! The health rules judged on fixtures of real object states (`tests/fixtures/health`):
//! each says what a deploy step makes of the object (Ready, Progressing, or Failed with
//! the reason, the message and the evidence to fetch) and what the environment's health
//! makes of it.

use std::time::Duration;

use serde_json::Value;
use tenantry_core::health::{
    Health, PodRules, deployment_health, job_health, object_health, pod_health,
};

fn judge(kind: &str, object: &Value, waited: Duration) -> Health {
    match kind {
        "Pod" => pod_health(object, waited, &PodRules::default()),
        "Job" => job_health(object),
        "Deployment" => deployment_health(object),
        other => panic!("no step rule for {other}"),
    }
}

#[test]
fn every_fixture_is_judged_as_it_says() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/health");
    let mut seen = 0;
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let fx: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let kind = fx["kind"].as_str().unwrap();
        let object = &fx["object"];
        let expect = &fx["expect"];
        let waited = Duration::from_secs(fx["waited_seconds"].as_u64().unwrap_or(0));
        let step = judge(kind, object, waited);
        match (expect["step"].as_str().unwrap(), &step) {
            ("Ready", Health::Ready) | ("Progressing", Health::Progressing(_)) => {}
            ("Failed", Health::Failed(f)) => {
                assert_eq!(f.reason, expect["reason"].as_str().unwrap(), "{name}");
                let message = expect["message"].as_str().unwrap();
                assert!(f.message.contains(message), "{name}: {:?}", f.message);
                assert!(
                    f.object
                        .ends_with(object["metadata"]["name"].as_str().unwrap()),
                    "{name}: {}",
                    f.object
                );
                let evidence = match (&f.log_of, &f.events_of) {
                    (Some(_), _) => Some("log"),
                    (None, Some(_)) => Some("events"),
                    (None, None) => None,
                };
                assert_eq!(evidence, expect["evidence"].as_str(), "{name}");
            }
            (want, got) => panic!("{name}: expected {want}, got {got:?}"),
        }
        let env = object_health(kind, Some(object), "");
        assert_eq!(
            env.health.as_str(),
            expect["env"].as_str().unwrap(),
            "{name}: {env:?}"
        );
        seen += 1;
    }
    assert!(seen >= 15, "only {seen} fixtures");
}
