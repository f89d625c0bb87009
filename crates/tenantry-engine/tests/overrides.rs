//! Per-client overrides in render, deploy and diff: a canary client pinned to another
//! image and env var gets them, the other clients do not, a deploy converges to them,
//! and the diff against today's rendering shows what removing the pin would change.

use secrecy::SecretString;
use tenantry_core::env::EnvValue;
use tenantry_core::render::Secrets;
use tenantry_core::{ClientId, EnvVarName, NamespaceName, OrgName, ParamName};
use tenantry_engine::fleet::{Against, observe_client};
use tenantry_engine::plan::{render_plan, sources};
use tenantry_engine::{Verdict, deploy};
use tenantry_store::{NewClient, Scope};
use tenantry_testkit::TestDb;

mod common;
use common::*;

fn body_of(plan: &[tenantry_engine::PlannedRequest], kind: &str) -> serde_json::Value {
    plan.iter()
        .filter_map(|r| r.body.clone())
        .find(|b| b["kind"] == kind)
        .unwrap()
}

#[tokio::test]
async fn a_client_pinned_to_an_image_gets_it_and_the_others_do_not() {
    let sim = cluster(|_| {}).await;
    let db = TestDb::sqlite();
    let cat = catalog(&db, &sim, TOKEN).await;
    cat.create_client(&NewClient {
        name: OrgName::parse("Beta").unwrap(),
        phones: vec![],
        emails: vec![],
        contacts: vec![],
    })
    .await
    .unwrap();
    let c2 = ClientId::parse("C2").unwrap();
    let dev = NamespaceName::parse("lms-dev").unwrap();
    let canary = Scope::Client(dev.clone(), c1());
    cat.set_param(
        &ParamName::parse("docker-image").unwrap(),
        &canary,
        &SecretString::from("registry.test/lms:canary"),
        false,
    )
    .await
    .unwrap();
    cat.set_env(
        &canary,
        &EnvVarName::parse("LMS_SERVER_DEBUG").unwrap(),
        &EnvValue::parse("false").unwrap(),
    )
    .await
    .unwrap();

    let image =
        |b: &serde_json::Value| b["spec"]["template"]["spec"]["containers"][0]["image"].clone();
    let plan1 = render_plan(&cat, c1(), "lms-dev", Secrets::Mask)
        .await
        .unwrap();
    let plan2 = render_plan(&cat, c2, "lms-dev", Secrets::Mask)
        .await
        .unwrap();
    assert_eq!(
        image(&body_of(&plan1, "Deployment")),
        "registry.test/lms:canary"
    );
    assert_eq!(image(&body_of(&plan2, "Deployment")), "registry.test/lms:1");
    assert_eq!(
        body_of(&plan1, "ConfigMap")["data"]["LMS_SERVER_DEBUG"],
        "false"
    );
    assert_eq!(
        body_of(&plan2, "ConfigMap")["data"]["LMS_SERVER_DEBUG"],
        "true"
    );
    let from = sources(&cat, c1(), "lms-dev").await.unwrap();
    assert_eq!(from.client, ["docker-image", "env LMS_SERVER_DEBUG"]);
    assert!(
        from.namespace.contains(&"public-dns".to_owned()),
        "{from:?}"
    );
    assert!(
        sources(&cat, c2, "lms-dev")
            .await
            .unwrap()
            .client
            .is_empty()
    );

    let o = deploy(&cat, c1(), "lms-dev", &opts(), &|_| {})
        .await
        .unwrap();
    assert_eq!(o.status, Verdict::Succeeded, "{:?}", o.reason);
    let live = get(&sim, "deployments/lms-deployment-c1").unwrap();
    assert_eq!(image(&live), "registry.test/lms:canary");
    let seen = observe_client(&cat, c1(), "lms-dev", Against::Rendering)
        .await
        .unwrap()
        .unwrap();
    assert!(!seen.row.drifted, "{:#?}", seen.view.objects);

    // Unpinned: the diff against today's rendering shows the way back.
    cat.unset_param(&ParamName::parse("docker-image").unwrap(), &canary)
        .await
        .unwrap();
    let seen = observe_client(&cat, c1(), "lms-dev", Against::Rendering)
        .await
        .unwrap()
        .unwrap();
    let paths: Vec<String> = seen
        .view
        .objects
        .iter()
        .flat_map(|o| o.diff.iter().map(|d| d.path.clone()))
        .collect();
    assert_eq!(
        paths,
        ["spec.template.spec.containers[0].image"],
        "{:#?}",
        seen.view.objects
    );
}
