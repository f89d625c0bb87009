//! Lists and watches: selectors, paging with continue, snapshots at a version, watch
//! replay and 410 Gone.

use super::*;

#[tokio::test]
async fn lists_filter_by_labels_and_fields_and_page_with_continue() {
    let sim = sim().await;
    let api = Api::new(&sim);
    for (i, tier) in ["web", "web", "db", "cache", "db"].iter().enumerate() {
        assert_eq!(
            api.post(
                CMS,
                &cm(&format!("cm{i}"), json!({"tier": tier, "n": i.to_string()}))
            )
            .await
            .0,
            201
        );
    }
    let names = |v: &Value| {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| s(o, "/metadata/name").to_owned())
            .collect::<Vec<_>>()
    };
    let q = |sel: &str| format!("{CMS}?labelSelector={}", urlencode(sel));
    assert_eq!(names(&api.get(&q("tier=web")).await.1), ["cm0", "cm1"]);
    assert_eq!(
        names(&api.get(&q("tier in (db,cache)")).await.1),
        ["cm2", "cm3", "cm4"]
    );
    assert_eq!(
        names(&api.get(&q("tier notin (web),n!=4")).await.1),
        ["cm2", "cm3"]
    );
    assert_eq!(names(&api.get(&q("!tier")).await.1), Vec::<String>::new());
    assert_eq!(
        names(
            &api.get(&format!("{CMS}?fieldSelector=metadata.name%3Dcm3"))
                .await
                .1
        ),
        ["cm3"]
    );
    let list = api.get(CMS).await.1;
    assert_eq!(list["kind"], "ConfigMapList");
    assert!(
        list["items"][0].get("kind").is_none(),
        "list items carry no kind, as on a real server"
    );

    let mut seen = Vec::new();
    let mut cont = String::new();
    loop {
        let (_, page) = api.get(&format!("{CMS}?limit=2&continue={cont}")).await;
        seen.extend(names(&page));
        match page.pointer("/metadata/continue").and_then(Value::as_str) {
            Some(c) => cont = c.to_owned(),
            None => break,
        }
    }
    assert_eq!(seen, ["cm0", "cm1", "cm2", "cm3", "cm4"]);

    // Every page reads the first page's snapshot: what changes meanwhile is not seen, and
    // a list at that version (`Exact`) shows it whole.
    let (_, first) = api.get(&format!("{CMS}?limit=2")).await;
    let at = s(&first, "/metadata/resourceVersion").to_owned();
    let cont = s(&first, "/metadata/continue").to_owned();
    assert_eq!(
        api.post(CMS, &cm("cm1a", json!({"tier": "web"}))).await.0,
        201
    );
    assert_eq!(api.delete(&format!("{CMS}/cm4")).await.0, 200);
    let (code, _) = api
        .call(
            "PATCH",
            &format!("{CMS}/cm3"),
            Some(&json!({"metadata": {"labels": {"tier": "gone"}}})),
            "application/merge-patch+json",
        )
        .await;
    assert_eq!(code, 200);
    let (_, rest) = api.get(&format!("{CMS}?limit=10&continue={cont}")).await;
    assert_eq!(names(&rest), ["cm2", "cm3", "cm4"]);
    assert_eq!(rest["items"][1]["metadata"]["labels"]["tier"], "cache");
    let (code, then) = api
        .get(&format!(
            "{CMS}?resourceVersion={at}&resourceVersionMatch=Exact"
        ))
        .await;
    assert_eq!(code, 200, "{then}");
    assert_eq!(names(&then), ["cm0", "cm1", "cm2", "cm3", "cm4"]);
    assert_eq!(s(&then, "/metadata/resourceVersion"), at);
    let now = api.get(CMS).await.1;
    assert_eq!(names(&now), ["cm0", "cm1", "cm1a", "cm2", "cm3"]);
}

#[tokio::test]
async fn watches_replay_from_a_resource_version_and_say_gone_when_too_old() {
    let sim = sim_with(|c| c.history = 5).await;
    let api = Api::new(&sim);
    let (_, a) = api.post(CMS, &cm("a", json!({"w": "1"}))).await;
    let rv = s(&a, "/metadata/resourceVersion").to_owned();
    let url = format!(
        "{}{CMS}?watch=true&resourceVersion={rv}&labelSelector=w%3D1",
        api.base
    );
    let resp = api
        .http
        .get(url)
        .bearer_auth(common::TOKEN)
        .send()
        .await
        .unwrap();
    let mut b = cm("b", json!({"w": "1"}));
    api.post(CMS, &b).await;
    api.post(CMS, &cm("other", json!({"w": "2"}))).await;
    b["data"]["k"] = json!("changed");
    api.put(&format!("{CMS}/b"), &b).await;
    api.delete(&format!("{CMS}/b")).await;
    let events = read_watch(resp, 3).await;
    let seen: Vec<(String, String)> = events
        .iter()
        .map(|e| {
            (
                s(e, "/type").to_owned(),
                s(e, "/object/metadata/name").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("ADDED".into(), "b".into()),
            ("MODIFIED".into(), "b".into()),
            ("DELETED".into(), "b".into())
        ]
    );

    for i in 0..10 {
        api.post(CMS, &cm(&format!("f{i}"), json!({}))).await;
    }
    let url = format!("{}{CMS}?watch=true&resourceVersion={rv}", api.base);
    let resp = api
        .http
        .get(url)
        .bearer_auth(common::TOKEN)
        .send()
        .await
        .unwrap();
    let events = read_watch(resp, 1).await;
    assert_eq!(events[0]["type"], "ERROR");
    assert_eq!(
        (
            events[0]["object"]["code"].clone(),
            events[0]["object"]["reason"].clone()
        ),
        (json!(410), json!("Expired"))
    );
}

/// A snapshot older than the change history is gone: 410, as the API server answers a
/// compacted version.
#[tokio::test]
async fn a_list_at_a_version_the_history_no_longer_reaches_is_gone() {
    let sim = common::sim_with(|c| c.history = 3).await;
    let api = Api::new(&sim);
    assert_eq!(api.post(CMS, &cm("first", json!({}))).await.0, 201);
    let at = s(&api.get(CMS).await.1, "/metadata/resourceVersion").to_owned();
    for i in 0..5 {
        assert_eq!(
            api.post(CMS, &cm(&format!("later{i}"), json!({}))).await.0,
            201
        );
    }
    let (code, body) = api
        .get(&format!(
            "{CMS}?resourceVersion={at}&resourceVersionMatch=Exact"
        ))
        .await;
    assert_eq!(code, 410, "{body}");
    assert_eq!(body["reason"], "Expired");
}
