//! `tenantry demo`: the product on embedded defaults, in a throw-away catalog.
//!
//! For now it shows the catalog: a demo namespace on loopback, sample clients with
//! contacts, the parameters and env vars a deploy will use. Nothing is contacted.

use secrecy::SecretString;
use tenantry_core::{ApiRootUrl, ContactName, Email, NamespaceName, OrgName, ParamName, Phone};
use tenantry_store::{
    Catalog, ClientFilter, KeySource, NewClient, NewContact, NewNamespace, OpenOptions, Scope,
};

use crate::cli::{ClientCmd, DemoArgs, EnvCmd, ParamCmd};
use crate::commands::{client, env, param};
use crate::output::{Format, outln};

pub async fn run(args: &DemoArgs, format: Format) -> anyhow::Result<()> {
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
    let opts = OpenOptions {
        database_url: format!("sqlite://{}", dir.join("demo.db").display()),
        key: KeySource::File(dir.join("master.key")),
        max_connections: 2,
    };
    let (catalog, _) = Catalog::open(&opts).await?;
    let say = |s: &str| {
        if format == Format::Text {
            outln!("{s}");
        }
    };
    say(&format!("tenantry demo: a catalog in {}\n", dir.display()));
    seed(&catalog).await?;

    say("Clients (tenantry client list):");
    client::run(
        &catalog,
        ClientCmd::List {
            all: true,
            archived: false,
            search: None,
        },
        format,
    )
    .await?;
    say("\nClient C1 (tenantry client show C1):");
    client::run(&catalog, ClientCmd::Show { id: "C1".parse()? }, format).await?;
    let demo = Some(NamespaceName::parse("demo")?);
    say("\nParameters as namespace `demo` sees them (tenantry param list -n demo):");
    param::run(
        &catalog,
        ParamCmd::List {
            namespace: demo.clone(),
            reveal: false,
        },
        format,
    )
    .await?;
    say("\nEnv vars of namespace `demo` (tenantry env list -n demo):");
    env::run(&catalog, EnvCmd::List { namespace: demo }, format).await?;
    say(
        "\nThe requests a deploy of C1 to `demo` sends, in order (tenantry render C1 -n demo shows the bodies):",
    );
    let plan = tenantry_engine::render_plan(
        &catalog,
        "C1".parse()?,
        "demo",
        tenantry_core::render::Secrets::Mask,
    )
    .await?;
    for (i, r) in plan.iter().enumerate() {
        say(&format!(
            "  {}. {:<17} {:<4} {}",
            i + 1,
            r.template.as_str(),
            r.method.as_str(),
            r.url
        ));
    }
    say(
        "\nNot yet in this build: sending those requests and watching the environment come up \
         (tenantry deploy), and the web UI. kubesim, the simulated cluster they will run \
         against, is here: try `tenantry sim --fast` and kubectl.",
    );
    if args.dir.is_some() {
        say(&format!(
            "\nThe catalog stays in {0}: try `tenantry --database-url {0}/demo.db --master-key-file {0}/master.key client list`.",
            dir.display()
        ));
    }
    catalog.close().await;
    Ok(())
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
