//! Opening the catalog: connection, migrations, master key check, first-run seeding.

use std::borrow::Cow;
use std::path::PathBuf;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyPool, Connection, Row};
use tenantry_core::defaults::{BUILTIN_PARAMS, DEFAULT_ENV};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::crypto::{Cipher, KeyError, KeySource, Place, load_key, random_bytes};
use crate::error::StoreError;

/// Which SQL database holds the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// How to open a catalog.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// `sqlite:PATH`, `postgres://…`, or a plain file path (SQLite).
    pub database_url: String,
    pub key: KeySource,
    pub max_connections: u32,
}

/// What happened while opening, for the caller to tell the user.
#[derive(Debug, Default, Clone)]
pub struct Opened {
    /// The master key file that was created for a new catalog.
    pub created_key_file: Option<PathBuf>,
}

/// The catalog, open and checked.
#[derive(Debug, Clone)]
pub struct Catalog {
    pub(crate) pool: AnyPool,
    pub(crate) backend: Backend,
    pub(crate) cipher: std::sync::Arc<Cipher>,
}

const KEY_CHECK: Place<'static> = Place {
    table: "meta",
    row: "key_check",
    field: "value",
};

/// The database URL with any password replaced by `***`, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

fn normalise_url(url: &str) -> (String, Backend) {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        (url.to_owned(), Backend::Postgres)
    } else if url.starts_with("sqlite:") {
        let with_mode = if url.contains("mode=") {
            url.to_owned()
        } else if url.contains('?') {
            format!("{url}&mode=rwc")
        } else {
            format!("{url}?mode=rwc")
        };
        (with_mode, Backend::Sqlite)
    } else {
        (format!("sqlite://{url}?mode=rwc"), Backend::Sqlite)
    }
}

/// The file of an SQLite URL (`sqlite://PATH?…`, `sqlite:PATH`), unless in memory.
fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or("");
    (!path.is_empty() && !path.starts_with(':')).then(|| PathBuf::from(path))
}

/// Creates a new SQLite catalog file readable by its owner only (0600): it holds the
/// sealed secrets, password hashes and the audit log. SQLite gives its journal and WAL
/// files the same mode.
fn create_private_file(path: &std::path::Path) -> Result<(), StoreError> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    match opts.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(StoreError::Connect {
            url: path.display().to_string(),
            reason: format!("cannot create the catalog file: {e}"),
        }),
    }
}

/// The migrations, by number and name, for both backends (`migrations/{sqlite,postgres}/`).
macro_rules! migrations {
    ($($n:literal $file:literal $name:literal),* $(,)?) => {
        [$(($n, $name,
            include_str!(concat!("../migrations/sqlite/", $file, ".sql")),
            include_str!(concat!("../migrations/postgres/", $file, ".sql")))),*]
    };
}

const MIGRATIONS: [(i64, &str, &str, &str); 13] = migrations![
    1 "0001_catalog" "catalog",
    2 "0002_templates_and_client_secrets" "templates and client secrets",
    3 "0003_runs" "runs",
    4 "0004_users_and_audit" "users and audit",
    5 "0005_client_search" "client search",
    6 "0006_inventory_and_revisions" "inventory and revisions",
    7 "0007_environments" "environments",
    8 "0008_security" "security",
    9 "0009_self_heal" "self heal",
    10 "0010_rollouts" "rollouts",
    11 "0011_webhooks" "webhooks",
    12 "0012_rollout_claims" "rollout claims",
    13 "0013_notices" "notices",
];

fn migrator(backend: Backend) -> Migrator {
    Migrator::with_migrations(
        MIGRATIONS
            .iter()
            .map(|&(version, name, sqlite, postgres)| {
                let sql = match backend {
                    Backend::Sqlite => sqlite,
                    Backend::Postgres => postgres,
                };
                Migration::new(
                    version,
                    Cow::Borrowed(name),
                    MigrationType::Simple,
                    sqlx::SqlSafeStr::into_sql_str(sql),
                    false,
                )
            })
            .collect(),
    )
}

/// The `meta` rows that say a seeding was done: the defaults, the templates, and the
/// teardown templates (which came later, so older catalogs get them once too).
pub(crate) const SEEDED: &str = "seeded";
pub(crate) const SEEDED_TEMPLATES: &str = "seeded_templates";
pub(crate) const SEEDED_TEARDOWN: &str = "seeded_teardown_templates";

/// Records the seeding `key` as done; whether this call did (the first one does).
pub(crate) async fn mark_seeded<'e, E>(e: E, key: &str) -> Result<bool, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    Ok(
        sqlx::query("INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
            .bind(key)
            .bind(b"1".to_vec())
            .execute(e)
            .await?
            .rows_affected()
            == 1,
    )
}

/// Whether exactly the migrations known here are applied, each with the checksum it has
/// here (read only). Any doubt — a missing table, a migration of a newer tenantry — says
/// no, and the migrator decides (it refuses a catalog a newer version migrated).
async fn up_to_date(pool: &AnyPool, migrator: &Migrator) -> bool {
    let Ok(rows) = sqlx::query("SELECT version, checksum FROM _sqlx_migrations WHERE success")
        .fetch_all(pool)
        .await
    else {
        return false;
    };
    let applied: Vec<(i64, Vec<u8>)> = rows
        .iter()
        .filter_map(|r| Some((r.try_get(0).ok()?, r.try_get(1).ok()?)))
        .collect();
    applied.len() == rows.len()
        && applied.len() == migrator.iter().count()
        && migrator.iter().all(|m| {
            applied
                .iter()
                .any(|(v, sum)| *v == m.version && sum.as_slice() == &*m.checksum)
        })
}

fn describe_connect_error(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(d) => d.message().to_owned(),
        sqlx::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            "connection refused: is the database server running at that address?".to_owned()
        }
        sqlx::Error::Io(io) => io.to_string(),
        sqlx::Error::PoolTimedOut => "timed out waiting for a connection".to_owned(),
        other => other.to_string(),
    }
}

/// The client whose number is in column `at` of a row; a number no client can have is
/// a corrupt catalog.
pub(crate) fn client_at(
    r: &sqlx::any::AnyRow,
    at: usize,
) -> Result<tenantry_core::ClientId, StoreError> {
    use sqlx::Row;
    let n: i64 = r.try_get(at)?;
    u64::try_from(n)
        .ok()
        .and_then(tenantry_core::ClientId::from_number)
        .ok_or_else(|| StoreError::Corrupt(format!("client number {n}")))
}

pub(crate) fn now() -> String {
    OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned())
}

impl Catalog {
    /// Opens (creating if needed) the catalog, brings its schema up to date, checks the
    /// master key against it, and seeds a new catalog with the default parameters and env.
    pub async fn open(opts: &OpenOptions) -> Result<(Self, Opened), StoreError> {
        install_default_drivers();
        let (url, backend) = normalise_url(&opts.database_url);
        let connect = |e: sqlx::Error| StoreError::Connect {
            url: redact_url(&opts.database_url),
            reason: describe_connect_error(&e),
        };
        if backend == Backend::Sqlite
            && let Some(file) = sqlite_file(&url)
            && !file.exists()
        {
            create_private_file(&file)?;
        }
        // One direct attempt first: it fails at once with the real cause, where the pool
        // would retry until its timeout and report only that it timed out.
        sqlx::AnyConnection::connect(&url)
            .await
            .map_err(connect)?
            .close()
            .await
            .map_err(connect)?;
        let mut pool_opts = AnyPoolOptions::new()
            .max_connections(opts.max_connections.max(1))
            .acquire_timeout(Duration::from_secs(30));
        if backend == Backend::Sqlite {
            // Several processes may share one file: a writer waits for the lock, not fails.
            pool_opts = pool_opts.after_connect(|conn, _| {
                Box::pin(async move {
                    sqlx::Executor::execute(conn, "PRAGMA busy_timeout = 30000").await?;
                    Ok(())
                })
            });
        }
        let pool = pool_opts.connect(&url).await.map_err(connect)?;
        let migrator = migrator(backend);
        let mut attempt: u64 = 0;
        // Up to date already (every open but the first after an upgrade): nothing to
        // write, so opening does not wait for another process's write lock (SQLite).
        while !up_to_date(&pool, &migrator).await {
            match migrator.run(&pool).await {
                Ok(()) => break,
                // Two processes creating one new SQLite file race on the schema; the
                // loser sees the winner's tables on its next look.
                Err(_) if backend == Backend::Sqlite && attempt < 3 => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(50 * attempt)).await;
                }
                Err(e) => return Err(StoreError::Migrate(e)),
            }
        }

        let stored_check: Option<Vec<u8>> =
            sqlx::query("SELECT value FROM meta WHERE key = 'key_check'")
                .fetch_optional(&pool)
                .await?
                .map(|r| r.try_get(0))
                .transpose()?;
        let (cipher, created_key_file) = load_key(&opts.key, stored_check.is_none())?;
        match stored_check {
            Some(sealed) => {
                cipher
                    .open(KEY_CHECK, &sealed)
                    .map_err(|_| KeyError::WrongKey(opts.key.describe()))?;
            }
            None => {
                let mut check = [0u8; 32];
                random_bytes(&mut check);
                sqlx::query("INSERT INTO meta (key, value) VALUES ('key_check', $1) ON CONFLICT (key) DO NOTHING")
                    .bind(cipher.seal(KEY_CHECK, &check))
                    .execute(&pool)
                    .await?;
                // Another process may have won the insert with its own key.
                let sealed: Vec<u8> = sqlx::query("SELECT value FROM meta WHERE key = 'key_check'")
                    .fetch_one(&pool)
                    .await?
                    .try_get(0)?;
                cipher
                    .open(KEY_CHECK, &sealed)
                    .map_err(|_| KeyError::WrongKey(opts.key.describe()))?;
            }
        }

        let catalog = Self {
            pool,
            backend,
            cipher: std::sync::Arc::new(cipher),
        };
        if !catalog.seeded().await? {
            catalog.seed_once().await?;
            catalog.seed_templates_once().await?;
        }
        catalog.backfill_search().await?;
        Ok((catalog, Opened { created_key_file }))
    }

    /// Starts a write transaction. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`): a deferred one that reads first fails, rather than waits, when
    /// another process writes in between.
    pub(crate) async fn begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Whether the defaults and every template set were put in already (read only).
    async fn seeded(&self) -> Result<bool, StoreError> {
        let marks: i64 = sqlx::query("SELECT COUNT(*) FROM meta WHERE key IN ($1, $2, $3)")
            .bind(SEEDED)
            .bind(SEEDED_TEMPLATES)
            .bind(SEEDED_TEARDOWN)
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        Ok(marks == 3)
    }

    /// Puts the defaults into a new catalog, once: later changes by operators (a removed
    /// env var, say) are never undone by a restart.
    async fn seed_once(&self) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        if mark_seeded(&mut *tx, SEEDED).await? {
            let now = now();
            for p in BUILTIN_PARAMS {
                let generator = match p.kind {
                    tenantry_core::ParamKind::Generated(g) => Some(g.to_string()),
                    _ => None,
                };
                sqlx::query(
                    "INSERT INTO param_defs (name, description, kind, generator, builtin) VALUES ($1, $2, $3, $4, 1)",
                )
                .bind(p.name)
                .bind(p.description)
                .bind(p.kind.tag())
                .bind(generator)
                .execute(&mut *tx)
                .await?;
                if let Some(default) = p.default {
                    sqlx::query(
                        "INSERT INTO param_values (name, scope, plain, sealed, updated_at) VALUES ($1, '', $2, NULL, $3)",
                    )
                    .bind(p.name)
                    .bind(default)
                    .bind(&now)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            for (i, (name, value)) in DEFAULT_ENV.iter().enumerate() {
                sqlx::query(
                    "INSERT INTO env_vars (scope, name, value, position) VALUES ('', $1, $2, $3)",
                )
                .bind(*name)
                .bind(*value)
                .bind(i as i64 + 1)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }
}
