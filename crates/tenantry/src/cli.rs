//! Command-line arguments and the entry point: parse, run, print errors as one line.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use secrecy::SecretString;
use tenantry_core::{ClientId, NamespaceName};
use tenantry_store::{Catalog, KeySource, OpenOptions};

use crate::args::{parse_duration, parse_public_url, parse_role, parse_slow_ready};
pub use crate::cli_catalog::*;
use crate::commands;
use crate::output::Format;

/// Builds and watches per-client LMS environments on Kubernetes.
#[derive(Debug, Parser)]
#[command(name = "tenantry", version, about, max_term_width = 100)]
pub struct Cli {
    /// The catalog: an SQLite file path or `sqlite:` URL, or a `postgres://` URL.
    #[arg(
        long,
        env = "TENANTRY_DATABASE_URL",
        default_value = "tenantry.db",
        global = true,
        hide_env_values = true
    )]
    pub database_url: String,

    /// File holding the master key (64 hex digits), created with mode 0600 for a new
    /// catalog. Ignored when TENANTRY_MASTER_KEY is set.
    /// [default: $XDG_CONFIG_HOME/tenantry/master.key]
    #[arg(long, env = "TENANTRY_MASTER_KEY_FILE", global = true)]
    pub master_key_file: Option<PathBuf>,

    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value = "text", global = true)]
    pub output: Format,

    /// Log filter for stderr, e.g. `info` or `tenantry_store=debug`. kube-rs's own
    /// messages are off by default: tenantry reports and retries those failures itself.
    #[arg(
        long,
        env = "TENANTRY_LOG",
        default_value = DEFAULT_LOG,
        global = true
    )]
    pub log: String,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Clients: create, list, show, edit, archive; their contact persons.
    #[command(subcommand)]
    Client(ClientCmd),
    /// Namespace targets: cluster API root URL, token, CA, Kubernetes namespace.
    #[command(subcommand)]
    Namespace(NamespaceCmd),
    /// Parameters that macros refer to, global or per namespace.
    #[command(subcommand)]
    Param(ParamCmd),
    /// Env vars of client environments (the ConfigMap), global or per namespace.
    #[command(subcommand)]
    Env(EnvCmd),
    /// Request templates: list, show, edit, import, export, history, restore, validate.
    #[command(subcommand)]
    Template(TemplateCmd),
    /// Dry run: prints every request a deploy would send, in order, secrets masked.
    Render {
        id: ClientId,
        #[arg(long, short = 'n')]
        namespace: NamespaceName,
        /// Show secret values.
        #[arg(long)]
        reveal: bool,
    },
    /// Builds (or brings up to date) a client's environment and says whether it worked.
    Deploy {
        id: ClientId,
        #[arg(long, short = 'n')]
        namespace: NamespaceName,
        /// The whole deploy's deadline, e.g. 10m, 90s.
        #[arg(long, default_value = "10m", value_parser = parse_duration)]
        timeout: std::time::Duration,
        /// How often waiting steps look again.
        #[arg(long, default_value = "500ms", value_parser = parse_duration)]
        poll: std::time::Duration,
    },
    /// Scales a client's environment to zero (pods gone) and records it as suspended;
    /// deploys keep it at zero until it is resumed.
    Suspend {
        id: ClientId,
        #[arg(long, short = 'n')]
        namespace: NamespaceName,
        #[arg(long, default_value = "10m", value_parser = parse_duration)]
        timeout: std::time::Duration,
    },
    /// Brings a suspended environment back to the replicas it had, every pod ready.
    Resume {
        id: ClientId,
        #[arg(long, short = 'n')]
        namespace: NamespaceName,
        #[arg(long, default_value = "10m", value_parser = parse_duration)]
        timeout: std::time::Duration,
    },
    /// Deploys an earlier revision's manifests again, as a new run and revision
    /// (generated secrets in the catalog are not changed).
    Rollback {
        id: ClientId,
        #[arg(long, short = 'n')]
        namespace: NamespaceName,
        /// The revision to go back to (default: the one before the latest).
        #[arg(long)]
        to: Option<i64>,
        #[arg(long, default_value = "10m", value_parser = parse_duration)]
        timeout: std::time::Duration,
    },
    /// Deletes a client's environment in a namespace: the objects tenantry owns (never
    /// others, which are named), in reverse dependency order, waiting until each is gone;
    /// with --drop-databases the teardown Jobs then drop its databases. Its generated
    /// secrets stay (a later deploy reuses them) unless --forget-secrets.
    Decommission {
        id: ClientId,
        #[arg(long, short = 'n')]
        namespace: NamespaceName,
        /// Also drop the client's PostgreSQL and ClickHouse databases and users.
        #[arg(long)]
        drop_databases: bool,
        /// Also forget the client's generated secrets in this namespace.
        #[arg(long)]
        forget_secrets: bool,
        /// Do it without asking (required without a terminal).
        #[arg(long)]
        yes: bool,
        #[arg(long, default_value = "10m", value_parser = parse_duration)]
        timeout: std::time::Duration,
    },
    /// Deploy runs: their steps, verdicts and requests.
    #[command(subcommand)]
    Runs(RunsCmd),
    /// A client environment's revisions (one per successful deploy): number, run, time,
    /// image, and what changed since the previous one.
    History {
        id: ClientId,
        #[arg(long, short = 'n')]
        namespace: NamespaceName,
        /// Also print, for each revision, the diff of the objects that changed (secrets
        /// masked).
        #[arg(long)]
        diff: bool,
    },
    /// The live health and drift of client environments, read from the cluster (one
    /// list per kind per namespace; no server needed).
    Status {
        /// Only this namespace target (default: every one).
        #[arg(long, short = 'n')]
        namespace: Option<NamespaceName>,
        /// Only this client.
        #[arg(long)]
        client: Option<ClientId>,
        /// Only environments that drifted from their last revision.
        #[arg(long)]
        drifted: bool,
    },
    /// What differs between a client's environment in the cluster and its last
    /// revision (drift), field by field, secrets masked. Exits as `kubectl diff`: 0 no
    /// difference, 1 differences, 2 an error.
    Diff {
        id: ClientId,
        #[arg(long, short = 'n')]
        namespace: NamespaceName,
        /// Compare with the catalog rendered today instead: what a deploy would change.
        #[arg(long)]
        rendered: bool,
    },
    /// Takes the client environments built by hand in a namespace under management,
    /// without rebuilding them: finds them by the templates' names, reads their
    /// passwords, seed and RSA key into the catalog, shows what a first deploy would
    /// change, then labels the objects as tenantry's and records them as revision 0.
    /// Without --yes it shows that first and asks.
    Adopt {
        #[arg(long, short = 'n')]
        namespace: NamespaceName,
        /// Show what would be adopted; store and change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Adopt without asking (required without a terminal).
        #[arg(long)]
        yes: bool,
        /// Adopt environments that lack objects too; a deploy then creates them.
        #[arg(long)]
        partial: bool,
        /// The organisation of a client the catalog does not have yet, as ID=NAME
        /// (repeatable; default: a placeholder to fill in later).
        #[arg(long = "org", value_name = "ID=NAME", value_parser = crate::args::parse_org)]
        orgs: Vec<(ClientId, tenantry_core::OrgName)>,
    },
    /// Fleet rollouts: one change to many clients, canary first, in batches, halted on
    /// failure.
    #[command(subcommand)]
    Rollout(RolloutCmd),
    /// Outgoing webhooks: who is told of failed runs, rollouts and drift.
    #[command(subcommand)]
    Webhook(WebhookCmd),
    /// Secrets generated for a client's environment (passwords, keys).
    #[command(subcommand)]
    Secret(SecretCmd),
    /// Runs kubesim, a Kubernetes API simulator, until killed.
    Sim(SimArgs),
    /// Serves the web UI and the JSON API (/api/v1) until Ctrl-C.
    Serve(ServeArgs),
    /// Operators of the web UI and API: users and API tokens.
    #[command(subcommand)]
    User(UserCmd),
    /// Tries the product: kubesim, a throw-away catalog and the web UI, until Ctrl-C.
    Demo(DemoArgs),
}

#[derive(Debug, Subcommand)]
pub enum WebhookCmd {
    /// Tells URL of these events (sent by `tenantry serve`): a JSON body, or Slack's
    /// text with --format slack; with --secret-stdin each body is signed
    /// (HMAC-SHA256 in X-Tenantry-Signature: sha256=…).
    Add {
        url: String,
        /// run.failed, rollout.halted, rollout.finished, drift.detected (comma-separated).
        #[arg(long, value_delimiter = ',', required = true)]
        events: Vec<String>,
        #[arg(long, default_value = "json")]
        format: String,
        /// Read the signing secret from standard input.
        #[arg(long)]
        secret_stdin: bool,
    },
    List,
    /// Changes a webhook: what is not given stays as it is. Deliveries not sent yet go
    /// as it now says.
    Edit {
        id: i64,
        #[arg(long)]
        url: Option<String>,
        /// run.failed, rollout.halted, rollout.finished, drift.detected (comma-separated).
        #[arg(long, value_delimiter = ',')]
        events: Option<Vec<String>>,
        #[arg(long)]
        format: Option<String>,
        /// Read a new signing secret from standard input.
        #[arg(long, conflicts_with = "unsign")]
        secret_stdin: bool,
        /// Stop signing the bodies.
        #[arg(long)]
        unsign: bool,
    },
    /// Removes a webhook and its delivery log.
    Remove {
        id: i64,
    },
    /// The latest deliveries, each attempt with its answer.
    Deliveries {
        #[arg(long)]
        webhook: Option<i64>,
        #[arg(long, default_value_t = 20)]
        limit: i64,
    },
}

#[derive(Debug, Subcommand)]
pub enum RolloutCmd {
    /// Shows which clients would change and how, asks, stores the rollout and (with
    /// --wait) carries it out; otherwise a `tenantry serve` sharing the catalog does.
    /// Prints the rollout's id.
    Start {
        #[arg(long, short = 'n')]
        namespace: NamespaceName,
        /// These clients (comma-separated).
        #[arg(long, value_delimiter = ',', conflicts_with_all = ["all", "health"])]
        clients: Vec<ClientId>,
        /// Every client deployed in the namespace.
        #[arg(long)]
        all: bool,
        /// Those whose environment has this health now (healthy, degraded, …).
        #[arg(long)]
        health: Option<String>,
        /// The first N changing clients go first; one failing halts the rollout.
        #[arg(long, conflicts_with = "canary_clients")]
        canary: Option<usize>,
        /// These clients go first (comma-separated).
        #[arg(long, value_delimiter = ',')]
        canary_clients: Vec<ClientId>,
        /// At most this many deploys at once.
        #[arg(long, default_value_t = 5)]
        batch: usize,
        /// Failures tolerated before the rollout halts.
        #[arg(long, default_value_t = 0)]
        max_failures: usize,
        /// How long the canaries must stay healthy before the others start.
        #[arg(long, default_value = "0s", value_parser = parse_duration)]
        soak: std::time::Duration,
        /// Start without asking (required without a terminal).
        #[arg(long)]
        yes: bool,
        /// Carry it out here and wait until it is over (exit 1 unless it succeeded).
        #[arg(long)]
        wait: bool,
    },
    /// One rollout: its status and each client's.
    Show {
        id: i64,
    },
    /// Every rollout, newest first.
    List,
    /// No new client starts until resumed (running deploys finish).
    Pause {
        id: i64,
    },
    Resume {
        id: i64,
    },
    /// No new client starts; the rollout ends when the running deploys have.
    Abort {
        id: i64,
    },
    /// Carries out a rollout that no one is driving (after `start` without --wait, when no
    /// server runs), until it is over.
    Drive {
        id: i64,
    },
    /// Rolls every client the rollout deployed back to the revision it had before.
    Undo {
        id: i64,
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,
    /// Mark cookies Secure and give them the `__Host-` prefix: set when users reach the
    /// server over HTTPS (e.g. behind a TLS-terminating proxy, which should also send
    /// Strict-Transport-Security).
    #[arg(long)]
    pub secure_cookies: bool,
    /// The address people open, e.g. https://tenantry.example.com: requests naming
    /// another host, and state changes from another origin, are refused (a defence
    /// against DNS rebinding). Recommended for every deployment.
    #[arg(long, value_parser = parse_public_url)]
    pub public_url: Option<tenantry_web::PublicUrl>,
    /// Audit log entries older than this many days are dropped (checked hourly).
    #[arg(long, default_value_t = 365, value_parser = clap::value_parser!(u32).range(1..))]
    pub audit_retention: u32,
    /// A deploy's deadline, e.g. 10m, 90s.
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    pub deploy_timeout: std::time::Duration,
    /// How often this server looks for runs abandoned by a crashed peer (its process
    /// gone on this host, or unheard for 60 s) and resumes them; one server wins each.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub sweep_interval: std::time::Duration,
}

#[derive(Debug, Subcommand)]
pub enum UserCmd {
    /// Adds a user; the password is read from standard input.
    Add {
        name: tenantry_core::UserName,
        #[arg(long, value_parser = parse_role, default_value = "operator")]
        role: tenantry_core::Role,
        /// Shorthand for --role admin.
        #[arg(long)]
        admin: bool,
        /// Read the password from standard input (required: passwords never go on the
        /// command line).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Lists users and their roles.
    List,
    /// Changes a user's role or (with --password-stdin) password; a new password ends
    /// their sessions.
    Edit {
        name: tenantry_core::UserName,
        #[arg(long, value_parser = parse_role)]
        role: Option<tenantry_core::Role>,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Removes a user and ends their sessions.
    Remove { name: tenantry_core::UserName },
    /// Makes an API token for automation, owned by a user and scoped to a role (never
    /// above the owner's, which it follows); printed once.
    Token {
        /// What uses the token, e.g. "ci".
        name: String,
        #[arg(long, value_parser = parse_role, default_value = "viewer")]
        role: tenantry_core::Role,
        /// The user the token acts for; it goes when they are removed.
        #[arg(long)]
        owner: tenantry_core::UserName,
        /// Its life, e.g. 90d (at most 366d).
        #[arg(long, default_value = "90d", value_parser = tenantry_core::user::token_days)]
        expires: i64,
    },
    /// Forgets the failed logins counted against a user, so they can log in at once.
    Unlock { name: tenantry_core::UserName },
}

#[derive(Debug, Args)]
pub struct SimArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:6443")]
    pub listen: std::net::SocketAddr,
    /// Bearer token clients must send (none: everyone is let in).
    #[arg(long, env = "KUBESIM_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Serve the API below this path, as a Rancher proxy does, e.g. /k8s/clusters/c-local.
    #[arg(long, default_value = "")]
    pub path_prefix: String,
    /// Serve HTTPS with a self-signed CA written to DIR/ca.crt.
    #[arg(long)]
    pub tls_dir: Option<PathBuf>,
    /// Namespaces that exist from the start, besides `default` and `kube-system`
    /// (repeatable; more can be made with `kubectl create namespace`).
    #[arg(long = "namespace", value_name = "NAME", default_values = ["lms-dev", "lms-prod"])]
    pub namespaces: Vec<tenantry_core::NamespaceName>,
    /// Images matching PATTERN (`*` globs) fail to pull (repeatable).
    #[arg(long = "fail-image-pull", value_name = "PATTERN")]
    pub fail_image_pull: Vec<String>,
    /// Images matching PATTERN crash after starting (repeatable).
    #[arg(long = "crash-image", value_name = "PATTERN")]
    pub crash_image: Vec<String>,
    /// Job containers whose command and args match PATTERN exit with code 1 (repeatable).
    #[arg(long = "fail-job-command", value_name = "PATTERN")]
    pub fail_job_command: Vec<String>,
    /// Images matching PATTERN become ready MS milliseconds later than others, as
    /// PATTERN=MS (repeatable).
    #[arg(long = "slow-ready", value_name = "PATTERN=MS", value_parser = parse_slow_ready)]
    pub slow_ready: Vec<(String, u64)>,
    /// Simulate everything quickly (milliseconds instead of seconds).
    #[arg(long)]
    pub fast: bool,
    /// Seed of the injected faults.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Latency added to every request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Share of requests answered 500 or 503 (0 to 1).
    #[arg(long, default_value_t = 0.0)]
    pub error_rate: f64,
    /// Share of requests answered 429 with Retry-After (0 to 1).
    #[arg(long, default_value_t = 0.0)]
    pub throttle_rate: f64,
    /// Share of requests whose connection is dropped (0 to 1).
    #[arg(long, default_value_t = 0.0)]
    pub drop_rate: f64,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Keep the demo catalog in this directory (default: a temporary one, removed after).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Address of the web UI (port 0: any free port; the address is printed).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,
}

/// Warnings only; kube-rs's own messages off, as tenantry reports and retries those itself.
const DEFAULT_LOG: &str = "warn,kube_client=off,rustls_platform_verifier=off";

/// The process entry point: exit 0 on success, 1 on failure, 2 on bad usage.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // The simulator logs one line per request unless told otherwise.
    let log = if matches!(cli.command, Command::Sim(_)) && cli.log == DEFAULT_LOG {
        "warn,kubesim=info"
    } else {
        cli.log.as_str()
    };
    init_logging(log);
    let format = cli.output;
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            return fail(
                format,
                &anyhow::Error::new(e).context("cannot start the async runtime"),
            );
        }
    };
    let is_diff = matches!(cli.command, Command::Diff { .. });
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is::<commands::fleet::Differs>() => ExitCode::FAILURE,
        // `diff` exits as `kubectl diff` does: any error is 2, 1 being "differs".
        Err(e) if is_diff || e.is::<UsageError>() => {
            fail(format, &e);
            ExitCode::from(2)
        }
        Err(e) => fail(format, &e),
    }
}

/// A command used in a way it refuses (exit 2), e.g. a decommission without a terminal
/// to confirm on and without `--yes`.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

fn fail(format: Format, e: &anyhow::Error) -> ExitCode {
    match format {
        Format::Json => {
            let causes: Vec<String> = e.chain().map(ToString::to_string).collect();
            eprintln!(
                "{}",
                serde_json::json!({ "error": format!("{e:#}"), "causes": causes })
            );
        }
        Format::Text => eprintln!("error: {e:#}"),
    }
    ExitCode::FAILURE
}

fn init_logging(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match &cli.command {
        Command::Demo(args) => return commands::demo::run(args, cli.output).await,
        Command::Sim(args) => return commands::sim::run(args).await,
        Command::Serve(args) => {
            let catalog = open_catalog(&cli.database_url, cli.master_key_file.clone()).await?;
            let result = commands::serve::run(&catalog, args).await;
            catalog.close().await;
            return result;
        }
        _ => {}
    }
    let catalog = open_catalog(&cli.database_url, cli.master_key_file.clone()).await?;
    let result = commands::dispatch(&catalog, cli.command, cli.output).await;
    catalog.close().await;
    result
}

/// The master key source: TENANTRY_MASTER_KEY, else the key file.
pub(crate) fn key_source(file: Option<PathBuf>) -> anyhow::Result<KeySource> {
    if let Ok(hex) = std::env::var("TENANTRY_MASTER_KEY") {
        return Ok(KeySource::Hex(SecretString::from(hex)));
    }
    if let Some(f) = file {
        return Ok(KeySource::File(f));
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .ok_or_else(|| anyhow::anyhow!("cannot find a place for the master key file: set TENANTRY_MASTER_KEY or --master-key-file"))?;
    Ok(KeySource::File(base.join("tenantry").join("master.key")))
}

pub(crate) async fn open_catalog(url: &str, key_file: Option<PathBuf>) -> anyhow::Result<Catalog> {
    let opts = OpenOptions {
        database_url: url.to_owned(),
        key: key_source(key_file)?,
        max_connections: 4,
    };
    let (catalog, opened) = Catalog::open(&opts).await?;
    if let Some(path) = opened.created_key_file {
        eprintln!(
            "note: created the master key file {} (mode 0600). Back it up: without it the catalog's secrets cannot be read.",
            path.display()
        );
    }
    Ok(catalog)
}
