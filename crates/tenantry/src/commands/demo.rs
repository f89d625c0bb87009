//! `tenantry demo`: the product on embedded defaults. It starts kubesim in-process as the
//! demo cluster (behind a Rancher-like path prefix, with a bearer token), a catalog in a
//! temporary or named directory with a `demo` namespace pointing at it, sample clients,
//! a demo admin whose password is printed once, and the web UI.

use anyhow::Context;
use secrecy::SecretString;
use tenantry_core::{
    ApiRootUrl, ContactName, Email, NamespaceName, OrgName, ParamName, Phone, Role, UserName,
};
use tenantry_store::{
    Catalog, ClientFilter, KeySource, NamespaceUpdate, NewClient, NewContact, NewNamespace,
    OpenOptions, Scope,
};
use tenantry_web::{AppState, Config, auth};

use crate::cli::DemoArgs;
use crate::output::Format;

/// Images the demo cluster cannot pull, or that crash: set `docker-image` of namespace
/// `demo` to one of these to see a deploy fail and say why.
pub const FAILING_IMAGES: &[&str] = &["*:missing*", "*does-not-exist*"];
pub const CRASHING_IMAGES: &[&str] = &["*crash*"];

pub async fn run(args: &DemoArgs, _format: Format) -> anyhow::Result<()> {
    let temp;
    let dir = match &args.dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            d.clone()
        }
        None => {
            temp = tempfile::tempdir()?;
            temp.path().to_owned()
        }
    };
    let sim_token = auth::random_token();
    let sim = kubesim::start(kubesim::Config {
        token: Some(sim_token.clone()),
        path_prefix: "/k8s/clusters/c-demo".into(),
        namespaces: vec!["default".into(), "kube-system".into(), "demo".into()],
        scenarios: kubesim::Scenarios {
            fail_image_pull: FAILING_IMAGES.iter().map(|s| (*s).to_owned()).collect(),
            crash_image: CRASHING_IMAGES.iter().map(|s| (*s).to_owned()).collect(),
            ..Default::default()
        },
        ..kubesim::Config::default()
    })
    .await
    .context("cannot start kubesim, the demo cluster")?;
    let opts = OpenOptions {
        database_url: format!("sqlite://{}", dir.join("demo.db").display()),
        key: KeySource::File(dir.join("master.key")),
        max_connections: 4,
    };
    let (catalog, _) = Catalog::open(&opts).await?;
    seed(&catalog).await?;
    let url = ApiRootUrl::parse(&sim.url())?;
    let kubeconfig = write_kubeconfig(&dir, url.as_str(), &sim_token)?;
    catalog
        .update_namespace(
            "demo",
            &NamespaceUpdate {
                api_root_url: Some(url.clone()),
                token: Some(SecretString::from(sim_token)),
                ..Default::default()
            },
        )
        .await?;
    hand_made(&catalog, &sim)
        .await
        .context("cannot make the demo's hand-built environment")?;
    let password = auth::random_token()[..20].to_owned();
    let hash = auth::hash_password(&password).map_err(|e| anyhow::anyhow!("{e}"))?;
    let admin = UserName::parse("admin")?;
    match catalog
        .create_user(&admin, Role::Admin, &hash, auth::unix_now())
        .await
    {
        Ok(_) => {}
        Err(tenantry_store::StoreError::UserExists(_)) => {
            catalog
                .update_user("admin", Some(Role::Admin), Some(&hash))
                .await?;
        }
        Err(e) => return Err(e.into()),
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} (choose another with --listen)",
                args.listen
            )
        })?;
    let web = format!("http://{}", listener.local_addr()?);
    println!("tenantry demo");
    println!("  web UI:   {web}");
    println!("  log in:   admin / {password}");
    println!("  cluster:  kubesim at {} (namespace `demo`)", url.as_str());
    println!("  catalog:  {}", dir.display());
    println!(
        "  kubectl:  kubectl --kubeconfig {} get pods (edit objects by hand to see drift on the fleet page)",
        kubeconfig.display()
    );
    println!(
        "  try:      open a client, press Deploy, watch the steps; set docker-image of namespace demo to registry.local/lms/backend:missing to see a failure named"
    );
    println!(
        "  adopt:    C42 was built by hand before tenantry (no labels): Namespaces → demo → Adopt environments built by hand"
    );
    println!("  stop:     Ctrl-C");
    let state = AppState::new(
        catalog.clone(),
        Config {
            public_url: Some(tenantry_web::PublicUrl::parse(&web).map_err(|e| anyhow::anyhow!(e))?),
            ..Config::default()
        },
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let result = super::serve::serve(state, listener, &web).await;
    sim.stop();
    catalog.close().await;
    result
}

async fn seed(catalog: &Catalog) -> anyhow::Result<()> {
    if !catalog
        .list_clients(&ClientFilter {
            include_archived: true,
            ..Default::default()
        })
        .await?
        .is_empty()
    {
        return Ok(());
    }
    catalog
        .add_namespace(&NewNamespace {
            name: NamespaceName::parse("demo")?,
            k8s_namespace: None,
            api_root_url: ApiRootUrl::parse("http://127.0.0.1:6443/k8s/clusters/c-local/")?,
            token: SecretString::from(format!("demo-{}", std::process::id())),
            ca_bundle: None,
        })
        .await?;
    let demo = Scope::Namespace(NamespaceName::parse("demo")?);
    for (name, value) in [
        ("docker-image", "registry.local/lms/backend:demo"),
        ("public-dns", "lms.demo.localhost"),
        ("clickhouse-host", "clickhouse.demo.svc"),
        ("clickhouse-admin-user", "default"),
        ("postgres-host", "postgres.demo.svc"),
        ("nfs-server", "127.0.0.1"),
    ] {
        catalog
            .set_param(
                &ParamName::parse(name)?,
                &demo,
                &SecretString::from(value),
                false,
            )
            .await?;
    }
    // Demo system access: made up here, kept sealed like any operator's secret.
    for name in [
        "clickhouse-admin-password",
        "postgres-admin-password",
        "sms4b-token",
    ] {
        let value = SecretString::from(format!("demo-{}-{}", name, std::process::id()));
        catalog
            .set_param(&ParamName::parse(name)?, &demo, &value, true)
            .await?;
    }
    let phone = |s: &str| Phone::parse(s);
    let email = |s: &str| Email::parse(s);
    catalog
        .create_client(&NewClient {
            name: OrgName::parse("ООО «Ромашка»")?,
            phones: vec![phone("8 (495) 123-45-67")?],
            emails: vec![email("office@romashka.example")?],
            contacts: vec![
                NewContact {
                    name: ContactName::parse("Иванова Мария")?,
                    role: Some("директор по обучению".into()),
                    note: None,
                    phones: vec![phone("+7 916 555-12-34")?],
                    emails: vec![email("m.ivanova@romashka.example")?],
                },
                NewContact {
                    name: ContactName::parse("Пётр Сидоров")?,
                    role: Some("IT".into()),
                    note: Some("звонить после 10:00".into()),
                    phones: vec![],
                    emails: vec![email("it@romashka.example")?],
                },
            ],
        })
        .await?;
    catalog
        .create_client(&NewClient {
            name: OrgName::parse("Acme Learning Ltd")?,
            phones: vec![],
            emails: vec![],
            contacts: vec![],
        })
        .await?;
    Ok(())
}

/// An environment built by hand before tenantry, as a team makes them from the
/// customer's templates: C42's objects without tenantry's labels, with passwords, seed
/// and key of its own, for the adoption page to find. Not made again once C42 is in the
/// catalog.
async fn hand_made(catalog: &Catalog, sim: &kubesim::Running) -> anyhow::Result<()> {
    use tenantry_core::Generator;
    use tenantry_core::default_templates::{CLIENT_LABEL, MANAGED_BY};
    use tenantry_store::generate::{RsaFormat, generate};
    let id = tenantry_core::ClientId::parse("C42")?;
    if catalog.client(id).await.is_ok() {
        return Ok(());
    }
    let mut values = std::collections::BTreeMap::new();
    for (name, g) in [
        ("postgres-user-password", Generator::Password { length: 24 }),
        (
            "clickhouse-user-password",
            Generator::Password { length: 24 },
        ),
        ("keys-secret-seed", Generator::Hex { bytes: 64 }),
        ("rsa-content", Generator::RsaKey { bits: 2048 }),
    ] {
        let v = tokio::task::spawn_blocking(move || generate(g, RsaFormat::default()))
            .await?
            .map_err(|e| anyhow::anyhow!(e))?;
        values.insert(name.to_owned(), v);
    }
    let (plan, _) =
        tenantry_engine::plan::render_adopted(catalog, id, "ООО «Ручная работа»", "demo", values)
            .await?;
    for r in plan {
        let Some(mut body) = r.body else { continue };
        let kind = body["kind"].as_str().unwrap_or("").to_owned();
        // Its setup Jobs ran long ago and were cleaned up.
        if kind == "Job" || !kubesim::serves(&kind) {
            continue;
        }
        if let Some(labels) = body
            .pointer_mut("/metadata/labels")
            .and_then(serde_json::Value::as_object_mut)
        {
            labels.remove(MANAGED_BY.0);
            labels.remove(CLIENT_LABEL);
        }
        sim.create("demo", body)
            .map_err(|e| anyhow::anyhow!("{kind}: {e:?}"))?;
    }
    Ok(())
}

/// A kubeconfig for the demo cluster, readable only by its owner (it holds the token).
fn write_kubeconfig(
    dir: &std::path::Path,
    server: &str,
    token: &str,
) -> anyhow::Result<std::path::PathBuf> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let path = dir.join("kubeconfig");
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: demo\n  cluster:\n    server: {server}\ncontexts:\n- name: demo\n  context:\n    cluster: demo\n    user: demo\n    namespace: demo\ncurrent-context: demo\nusers:\n- name: demo\n  user:\n    token: {token}\n"
    );
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    Ok(path)
}
