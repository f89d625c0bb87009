//! The test harness shared by every crate's tests: a fresh catalog database per test,
//! on SQLite always and on PostgreSQL when `TENANTRY_TEST_POSTGRES_URL` names a server.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::any::install_default_drivers;
use sqlx::{AnyConnection, AssertSqlSafe, Connection, Executor, Row};

/// The env var naming an admin URL of the PostgreSQL server tests may use.
pub const POSTGRES_ENV: &str = "TENANTRY_TEST_POSTGRES_URL";

/// Says that a test was skipped, past the test harness's output capture, so that it
/// shows even when the test passes.
pub fn skipped(what: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIPPED {what}");
}

/// A master key for tests (64 hex digits).
pub const TEST_MASTER_KEY: &str =
    "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

/// A fresh, empty database; dropped (PostgreSQL) or deleted (SQLite) when this goes.
#[derive(Debug)]
pub struct TestDb {
    pub kind: Kind,
    pub url: String,
    dir: tempfile::TempDir,
    pg: Option<(String, String)>,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl TestDb {
    /// A fresh SQLite file in a temporary directory.
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("catalog.db").display());
        Self {
            kind: Kind::Sqlite,
            url,
            dir,
            pg: None,
        }
    }

    /// A fresh PostgreSQL database, or `None` (said loudly) when no server is configured.
    pub async fn postgres(test: &str) -> Option<Self> {
        let Ok(admin) = std::env::var(POSTGRES_ENV) else {
            skipped(&format!(
                "on PostgreSQL: {test} (set {POSTGRES_ENV}, e.g. postgres://postgres@127.0.0.1:5432/postgres)"
            ));
            return None;
        };
        install_default_drivers();
        let name = format!(
            "tenantry_t_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0)
        );
        let mut conn = AnyConnection::connect(&admin)
            .await
            .unwrap_or_else(|e| panic!("{POSTGRES_ENV}={admin} does not connect: {e}"));
        conn.execute(AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .await
            .expect("create test database");
        conn.close().await.ok();
        let url = replace_db(&admin, &name);
        Some(Self {
            kind: Kind::Postgres,
            url,
            dir: tempfile::tempdir().expect("temp dir"),
            pg: Some((admin, name)),
        })
    }

    /// Every backend available: SQLite, and PostgreSQL when configured.
    pub async fn all(test: &str) -> Vec<Self> {
        let mut v = vec![Self::sqlite()];
        v.extend(Self::postgres(test).await);
        v
    }

    /// Runs one SQL statement on the database, as another process would.
    pub async fn execute(&self, sql: &str) {
        install_default_drivers();
        let mut conn = AnyConnection::connect(&self.url).await.expect("connect");
        conn.execute(AssertSqlSafe(sql.to_owned()))
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        conn.close().await.ok();
    }

    /// A scratch directory belonging to this database (key files, logs).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The SQLite files (main, WAL, shared memory) that exist now.
    pub fn sqlite_files(&self) -> Vec<PathBuf> {
        ["catalog.db", "catalog.db-wal", "catalog.db-shm"]
            .iter()
            .map(|f| self.dir.path().join(f))
            .filter(|p| p.exists())
            .collect()
    }

    /// Every row of every table as text (bytea as hex), the way a dump would show it.
    pub async fn dump(&self) -> String {
        install_default_drivers();
        let mut conn = AnyConnection::connect(&self.url)
            .await
            .expect("connect for dump");
        let tables: Vec<String> = match self.kind {
            Kind::Postgres => conn
                .fetch_all("SELECT CAST(tablename AS TEXT) FROM pg_tables WHERE schemaname = 'public' AND tablename NOT LIKE '\\_%'")
                .await
                .expect("list tables")
                .iter()
                .map(|r| r.get::<String, _>(0))
                .collect(),
            Kind::Sqlite => conn
                .fetch_all("SELECT name FROM sqlite_master WHERE type = 'table' AND substr(name, 1, 1) <> '_' AND name NOT LIKE 'sqlite%'")
                .await
                .expect("list tables")
                .iter()
                .map(|r| r.get::<String, _>(0))
                .collect(),
        };
        let mut out = String::new();
        for t in tables {
            let sql = match self.kind {
                Kind::Postgres => format!("SELECT CAST(t AS TEXT) FROM {t} t"),
                Kind::Sqlite => format!("SELECT * FROM {t}"),
            };
            let rows = conn
                .fetch_all(AssertSqlSafe(sql))
                .await
                .expect("dump table");
            for r in rows {
                if self.kind == Kind::Postgres {
                    out.push_str(&r.get::<String, _>(0));
                } else {
                    for i in 0..r.len() {
                        if let Ok(s) = r.try_get::<String, _>(i) {
                            out.push_str(&s);
                        } else if let Ok(b) = r.try_get::<Vec<u8>, _>(i) {
                            out.push_str(&String::from_utf8_lossy(&b));
                        }
                        out.push('|');
                    }
                }
                out.push('\n');
            }
        }
        conn.close().await.ok();
        out
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.pg.take() {
            // Drop runs outside async code; a small runtime of its own does the cleanup.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                if let Ok(rt) = rt {
                    rt.block_on(async {
                        if let Ok(mut c) = AnyConnection::connect(&admin).await {
                            let _ = c
                                .execute(AssertSqlSafe(format!(
                                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                                )))
                                .await;
                            let _ = c.close().await;
                        }
                    });
                }
            })
            .join();
        }
    }
}

fn replace_db(admin: &str, name: &str) -> String {
    let (base, query) = match admin.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (admin, String::new()),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    format!("{base}/{name}{query}")
}

#[cfg(test)]
mod tests {
    use super::replace_db;

    #[test]
    fn the_database_name_is_swapped_in_the_admin_url() {
        assert_eq!(
            replace_db("postgres://u@h:5432/postgres", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            replace_db("postgres://u@h:5432", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            replace_db("postgres://h/db?sslmode=disable", "x"),
            "postgres://h/x?sslmode=disable"
        );
    }
}

/// A throw-away PostgreSQL server of its own with password (SCRAM) authentication, for
/// tests that must see a wrong password fail (the shared server trusts every local
/// connection). Needs the server binaries (Debian's `postgresql` package).
#[derive(Debug)]
pub struct ScramPostgres {
    pub port: u16,
    pub admin: String,
    pub password: String,
    bin: PathBuf,
    data: PathBuf,
    run_as_postgres: bool,
    _dir: tempfile::TempDir,
}

impl ScramPostgres {
    /// Starts one, or says loudly why it cannot and returns `None`.
    pub fn start(test: &str) -> Option<Self> {
        let skip = |why: &str| {
            skipped(&format!(
                "{test}: cannot start a password-checking PostgreSQL: {why}"
            ));
            None
        };
        let Some(bin) = std::fs::read_dir("/usr/lib/postgresql")
            .ok()
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .map(|e| e.path().join("bin"))
            .filter(|b| b.join("initdb").exists())
            .max()
        else {
            return skip("no /usr/lib/postgresql/*/bin/initdb");
        };
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        let pwfile = dir.path().join("pw");
        let password = "Adm1nPassw0rd".to_owned();
        std::fs::write(&pwfile, &password).expect("write pwfile");
        let run_as_postgres = is_root();
        if run_as_postgres {
            let Some((uid, gid)) = postgres_ids() else {
                return skip("running as root and there is no postgres user");
            };
            for p in [dir.path(), pwfile.as_path()] {
                std::os::unix::fs::chown(p, Some(uid), Some(gid)).expect("chown");
            }
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("free port");
        let me = Self {
            port,
            admin: "admin".into(),
            password,
            bin,
            data,
            run_as_postgres,
            _dir: dir,
        };
        let init = me.pg(
            "initdb",
            &[
                "-D",
                me.data.to_str().unwrap_or_default(),
                "-U",
                "admin",
                "--auth=scram-sha-256",
                &format!("--pwfile={}", pwfile.display()),
                "-E",
                "UTF8",
                "--no-instructions",
            ],
        );
        if !init.status.success() {
            return skip(&format!(
                "initdb failed: {}",
                String::from_utf8_lossy(&init.stderr)
            ));
        }
        let sock = me.data.parent().unwrap_or(&me.data).display().to_string();
        let opts = format!("-p {port} -k {sock} -c listen_addresses=127.0.0.1");
        let log = format!("{}/log", sock);
        let start = me.pg(
            "pg_ctl",
            &[
                "-D",
                me.data.to_str().unwrap_or_default(),
                "-o",
                &opts,
                "-l",
                &log,
                "-w",
                "start",
            ],
        );
        if !start.status.success() {
            return skip(&format!(
                "pg_ctl start failed: {}",
                String::from_utf8_lossy(&start.stderr)
            ));
        }
        Some(me)
    }

    fn pg(&self, tool: &str, args: &[&str]) -> std::process::Output {
        let exe = self.bin.join(tool);
        let mut cmd = if self.run_as_postgres {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            std::process::Command::new(&exe)
        };
        cmd.args(args)
            .current_dir("/")
            .output()
            .expect("run a PostgreSQL tool")
    }

    /// An admin URL for this server.
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://{}:{}@127.0.0.1:{}/{database}",
            self.admin, self.password, self.port
        )
    }
}

impl Drop for ScramPostgres {
    fn drop(&mut self) {
        let _ = self.pg(
            "pg_ctl",
            &[
                "-D",
                self.data.to_str().unwrap_or_default(),
                "-m",
                "immediate",
                "stop",
            ],
        );
    }
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn postgres_ids() -> Option<(u32, u32)> {
    let id = |flag: &str| -> Option<u32> {
        let o = std::process::Command::new("id")
            .args([flag, "postgres"])
            .output()
            .ok()?;
        String::from_utf8_lossy(&o.stdout).trim().parse().ok()
    };
    Some((id("-u")?, id("-g")?))
}

/// Replaces the section `name` of docs/benchmarks.md (between `<!-- name:start -->` and
/// `<!-- name:end -->`) with `body`, or appends it; benchmarks record their figures here.
pub fn write_bench_section(name: &str, body: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/benchmarks.md");
    let (start, end) = (
        format!("<!-- {name}:start -->"),
        format!("<!-- {name}:end -->"),
    );
    let section = format!("{start}\n{}\n{end}\n", body.trim_end());
    let current = std::fs::read_to_string(&path).unwrap_or_else(|_| "# Benchmarks\n\n".into());
    let updated = match (current.find(&start), current.find(&end)) {
        (Some(a), Some(b)) if a < b => format!(
            "{}{section}{}",
            &current[..a],
            current[b + end.len()..].trim_start_matches('\n')
        ),
        _ => format!("{current}\n{section}"),
    };
    std::fs::write(&path, updated)
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    println!("wrote {}", path.display());
}
