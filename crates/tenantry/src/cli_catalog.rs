//! The catalog's subcommands: clients and their contacts, namespaces, parameters, env
//! vars, templates, generated secrets and runs.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use tenantry_core::template::TemplateName;
use tenantry_core::{ClientId, Email, EnvVarName, NamespaceName, ParamName, Phone};

#[derive(Debug, Subcommand)]
pub enum TemplateCmd {
    /// Lists templates in execution order.
    List,
    /// Prints a template file (the current version, or --version N).
    Show {
        name: TemplateName,
        #[arg(long)]
        version: Option<i64>,
    },
    /// Changes a template: from --file, or in $VISUAL / $EDITOR.
    Edit {
        name: TemplateName,
        #[arg(long)]
        file: Option<PathBuf>,
        /// Why it changed, kept in the history.
        #[arg(long, default_value = "")]
        note: String,
        /// Saves even with unknown macros, a broken order or a body that is no object.
        #[arg(long)]
        force: bool,
    },
    /// Adds or replaces templates from files (all or none).
    Import {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[arg(long, default_value = "imported")]
        note: String,
        /// Saves even with unknown macros, a broken order or a body that is no object.
        #[arg(long)]
        force: bool,
    },
    /// Writes templates as files NAME.json into a directory.
    Export {
        #[arg(long, default_value = "templates")]
        dir: PathBuf,
        names: Vec<TemplateName>,
    },
    /// Lists a template's versions.
    History { name: TemplateName },
    /// Makes an old version current again (as a new version).
    Restore { name: TemplateName, version: i64 },
    /// Checks templates (stored ones by name, or files) without saving.
    Validate {
        names: Vec<TemplateName>,
        #[arg(long = "file")]
        files: Vec<PathBuf>,
    },
    /// Puts the default templates back as shipped.
    ResetDefaults,
    /// Includes a template in plans.
    Enable { name: TemplateName },
    /// Leaves a template out of plans.
    Disable { name: TemplateName },
}

#[derive(Debug, Subcommand)]
pub enum RunsCmd {
    /// Lists runs, newest first.
    List {
        /// Only this client's runs.
        #[arg(long)]
        client: Option<ClientId>,
        #[arg(long, default_value_t = 20)]
        limit: i64,
    },
    /// Shows a run's steps and every request it sent.
    Show { run: i64 },
}

#[derive(Debug, Subcommand)]
pub enum SecretCmd {
    /// Lists the generated secrets of a client's environment (masked unless --reveal).
    List {
        id: ClientId,
        #[arg(long, short = 'n')]
        namespace: NamespaceName,
        #[arg(long)]
        reveal: bool,
    },
    /// Generates a new value for one secret; the next deploy uses it.
    Rotate {
        id: ClientId,
        name: ParamName,
        #[arg(long, short = 'n')]
        namespace: NamespaceName,
    },
}

#[derive(Debug, Subcommand)]
pub enum ClientCmd {
    /// Creates a client and prints its new id (C1, C2, ...).
    Create {
        /// The organisation's name.
        #[arg(long)]
        name: String,
        /// A phone of the organisation itself (repeatable).
        #[arg(long = "phone")]
        phones: Vec<Phone>,
        /// An e-mail of the organisation itself (repeatable).
        #[arg(long = "email")]
        emails: Vec<Email>,
    },
    /// Lists clients (archived ones only with --all or --archived).
    List {
        /// Include archived clients.
        #[arg(long)]
        all: bool,
        /// Only archived clients.
        #[arg(long, conflicts_with = "all")]
        archived: bool,
        /// Match id, organisation, contact name, phone or e-mail.
        #[arg(long, short = 's')]
        search: Option<String>,
    },
    /// Shows one client with its contacts.
    Show { id: ClientId },
    /// Changes a client's name, phones or e-mails.
    Edit {
        id: ClientId,
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        points: PointEdits,
    },
    /// Archives a client: hidden from the list, id never reused, data kept.
    Archive { id: ClientId },
    /// Brings an archived client back.
    Restore { id: ClientId },
    /// Contact persons of a client.
    #[command(subcommand)]
    Contact(ContactCmd),
}

#[derive(Debug, Subcommand)]
pub enum ContactCmd {
    /// Adds a contact person to a client.
    Add {
        id: ClientId,
        #[arg(long)]
        name: String,
        #[arg(long)]
        role: Option<String>,
        #[arg(long)]
        note: Option<String>,
        /// A phone (repeatable); numbers without +code are read as Russian.
        #[arg(long = "phone")]
        phones: Vec<Phone>,
        /// An e-mail address (repeatable).
        #[arg(long = "email")]
        emails: Vec<Email>,
    },
    /// Changes a contact person (see the contact's #number in `client show`).
    Edit {
        id: ClientId,
        contact: i64,
        #[arg(long)]
        name: Option<String>,
        #[arg(long, conflicts_with = "clear_role")]
        role: Option<String>,
        #[arg(long)]
        clear_role: bool,
        #[arg(long, conflicts_with = "clear_note")]
        note: Option<String>,
        #[arg(long)]
        clear_note: bool,
        #[command(flatten)]
        points: PointEdits,
    },
    /// Removes a contact person.
    Remove { id: ClientId, contact: i64 },
}

/// Phones and e-mails to add or remove; removals apply first.
#[derive(Debug, Args)]
pub struct PointEdits {
    #[arg(long = "add-phone")]
    pub add_phones: Vec<Phone>,
    #[arg(long = "remove-phone")]
    pub remove_phones: Vec<Phone>,
    #[arg(long = "add-email")]
    pub add_emails: Vec<Email>,
    #[arg(long = "remove-email")]
    pub remove_emails: Vec<Email>,
}

/// The bearer token, from a flag, an env var or standard input.
#[derive(Debug, Args)]
pub struct TokenArgs {
    /// Bearer token of the cluster API (prefer --token-stdin: flags show in `ps`).
    #[arg(long, env = "TENANTRY_CLUSTER_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Read the token from standard input.
    #[arg(long, conflicts_with = "token")]
    pub token_stdin: bool,
}

#[derive(Debug, Subcommand)]
pub enum NamespaceCmd {
    /// Adds a namespace target, e.g. lms-dev.
    Add {
        name: NamespaceName,
        /// Cluster API root, path prefix kept (e.g. https://rancher.example/k8s/clusters/c-m4hlh/).
        #[arg(long)]
        api_root_url: String,
        #[command(flatten)]
        token: TokenArgs,
        /// PEM file with the CA certificate(s) the cluster's TLS certificate is checked against.
        #[arg(long)]
        ca_file: Option<PathBuf>,
        /// The Kubernetes namespace, when it differs from NAME.
        #[arg(long)]
        k8s_namespace: Option<NamespaceName>,
    },
    /// Lists namespace targets.
    List,
    /// Shows one namespace target (token masked unless --reveal).
    Show {
        name: NamespaceName,
        #[arg(long)]
        reveal: bool,
    },
    /// Changes a namespace target.
    Edit {
        name: NamespaceName,
        #[arg(long)]
        api_root_url: Option<String>,
        #[command(flatten)]
        token: TokenArgs,
        #[arg(long, conflicts_with = "no_ca")]
        ca_file: Option<PathBuf>,
        /// Remove the CA bundle (trust the system's CAs).
        #[arg(long)]
        no_ca: bool,
        #[arg(long)]
        k8s_namespace: Option<NamespaceName>,
        /// Correct drift automatically: a server watching the namespace deploys an
        /// environment that differs from its last revision (at most once per 5 minutes
        /// each, audited as `self-heal`).
        #[arg(long, value_parser = parse_on_off, value_name = "on|off")]
        self_heal: Option<bool>,
    },
}

fn parse_on_off(s: &str) -> Result<bool, String> {
    match s {
        "on" | "true" => Ok(true),
        "off" | "false" => Ok(false),
        other => Err(format!("expected on or off, got {other:?}")),
    }
}

#[derive(Debug, Subcommand)]
pub enum ParamCmd {
    /// Sets a parameter's value, globally, for one namespace, or for one client in it
    /// (client over namespace over global).
    Set {
        name: ParamName,
        /// The value (or use --stdin, better for secrets).
        #[arg(required_unless_present = "stdin")]
        value: Option<String>,
        /// Read the value from standard input.
        #[arg(long, conflicts_with = "value")]
        stdin: bool,
        /// Set it for this namespace only.
        #[arg(long, short = 'n')]
        namespace: Option<NamespaceName>,
        /// Only for this client, in the namespace (an override of the namespace's value).
        #[arg(long, requires = "namespace")]
        client: Option<ClientId>,
        /// Keep it encrypted and masked (a plain parameter becomes secret).
        #[arg(long)]
        secret: bool,
    },
    /// Removes a value, globally, for one namespace, or for one client in it.
    Unset {
        name: ParamName,
        #[arg(long, short = 'n')]
        namespace: Option<NamespaceName>,
        /// Only for this client, in the namespace (an override of the namespace's value).
        #[arg(long, requires = "namespace")]
        client: Option<ClientId>,
    },
    /// Lists parameters with the values macros would see.
    List {
        /// Show values as this namespace sees them.
        #[arg(long, short = 'n')]
        namespace: Option<NamespaceName>,
        /// Show values as this client sees them in the namespace.
        #[arg(long, requires = "namespace")]
        client: Option<ClientId>,
        /// Show secret values.
        #[arg(long)]
        reveal: bool,
    },
    /// Defines a new parameter.
    Define {
        name: ParamName,
        /// plain, secret, or generated:password[:N] / generated:hex[:N] / generated:rsa[:BITS]
        #[arg(long, default_value = "plain")]
        kind: String,
        #[arg(long, default_value = "")]
        description: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum EnvCmd {
    /// Sets an env var (the value may use macros such as {{client-id}}).
    Set {
        name: EnvVarName,
        value: String,
        #[arg(long, short = 'n')]
        namespace: Option<NamespaceName>,
        /// Only for this client, in the namespace (an override of the namespace's value).
        #[arg(long, requires = "namespace")]
        client: Option<ClientId>,
    },
    /// Removes an env var from the global list, a namespace's or a client's.
    Unset {
        name: EnvVarName,
        #[arg(long, short = 'n')]
        namespace: Option<NamespaceName>,
        /// Only for this client, in the namespace (an override of the namespace's value).
        #[arg(long, requires = "namespace")]
        client: Option<ClientId>,
    },
    /// Lists env vars in order, as a namespace (or a client in it) would get them.
    List {
        #[arg(long, short = 'n')]
        namespace: Option<NamespaceName>,
        /// Only for this client, in the namespace (an override of the namespace's value).
        #[arg(long, requires = "namespace")]
        client: Option<ClientId>,
    },
}
