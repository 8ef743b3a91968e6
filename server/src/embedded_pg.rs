//! A private PostgreSQL instance, supervised by the server.
//!
//! With no `DATABASE_URL` the server runs its own database from the machine's PostgreSQL
//! binaries: the first start runs `initdb` into a project-local directory, later starts reuse
//! it. The instance listens on loopback only (no unix socket, so deep paths don't matter),
//! requires a password that is generated at `initdb` time and kept beside the data directory,
//! and runs in its own process group so a terminal's Ctrl-C reaches the server first: the
//! server drains its connections and then stops the database with a fast shutdown.
//!
//! PostgreSQL refuses to run as root. When the server is root, the database processes run as an
//! unprivileged system account (`postgres` by default) that owns the data directory.

use std::{
    ffi::OsStr,
    fs,
    io::Write,
    net::{Ipv4Addr, TcpListener},
    os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt, chown},
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use nix::{
    sys::signal::{Signal, kill},
    unistd::{Pid, User},
};
use secrecy::{ExposeSecret, SecretString};
use sqlx::{ConnectOptions, Connection, postgres::PgConnectOptions};
use tokio::process::{Child, Command};

/// Name of the superuser and database the server uses inside its private instance.
const DATABASE: &str = "astraflow";
/// How long a start may take before it is reported as failed.
const START_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum EmbeddedPgError {
    #[error(
        "PostgreSQL binaries not found (looked for initdb and postgres in {searched}); install \
         PostgreSQL (Debian: apt-get install postgresql) or set \
         ASTRAFLOW_EMBEDDED_POSTGRES__BIN_DIR"
    )]
    BinariesNotFound { searched: String },
    #[error(
        "the server runs as root, and PostgreSQL refuses to; create the system account \
         {user:?} or set ASTRAFLOW_EMBEDDED_POSTGRES__SYSTEM_USER to an unprivileged one"
    )]
    NoSystemUser { user: String },
    #[error(
        "PostgreSQL runs as {user:?}, which cannot enter {path} (mode {mode:04o}, owner uid \
         {owner}), a directory above its data directory; let it pass (chmod o+x {path}, or \
         setfacl -m u:{user}:x {path}) or set ASTRAFLOW_DATA_DIR to a directory it can reach"
    )]
    Unreachable {
        user: String,
        path: PathBuf,
        mode: u32,
        owner: u32,
    },
    #[error("{action} failed: {detail}")]
    Command {
        action: &'static str,
        detail: String,
    },
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    #[error("PostgreSQL did not become ready within {0:?}; see {1}")]
    StartTimeout(Duration, PathBuf),
    #[error("PostgreSQL exited during start ({status}); last log lines:\n{log}")]
    ExitedDuringStart { status: String, log: String },
    #[error("could not prepare the database: {0}")]
    Prepare(#[from] sqlx::Error),
}

type Result<T, E = EmbeddedPgError> = std::result::Result<T, E>;

fn io_error(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> EmbeddedPgError {
    let context = context.into();
    move |source| EmbeddedPgError::Io { context, source }
}

/// Where and how to run the instance.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The PostgreSQL data directory (`PGDATA`).
    pub data_dir: PathBuf,
    /// Directory with `initdb` and `postgres`; searched for when `None`.
    pub bin_dir: Option<PathBuf>,
    /// 0 picks a free loopback port.
    pub port: u16,
    /// Account to run as when the server itself is root.
    pub system_user: String,
}

/// The unprivileged account the database runs as when the server is root.
#[derive(Debug, Clone)]
struct RunAs {
    uid: u32,
    gid: u32,
    /// Every group of the account, its primary group included.
    groups: Vec<u32>,
}

impl RunAs {
    /// Whether the account may pass through a directory with `meta` (ACLs aside).
    fn can_enter(&self, meta: &fs::Metadata) -> bool {
        let mode = meta.mode();
        if meta.uid() == self.uid {
            mode & 0o100 != 0
        } else if self.groups.contains(&meta.gid()) {
            mode & 0o010 != 0
        } else {
            mode & 0o001 != 0
        }
    }
}

/// A running private PostgreSQL instance.
#[derive(Debug)]
pub struct EmbeddedPostgres {
    settings: Settings,
    bin_dir: PathBuf,
    run_as: Option<RunAs>,
    port: u16,
    password: SecretString,
    child: Option<Child>,
}

impl EmbeddedPostgres {
    /// Initialises the data directory if needed, starts PostgreSQL and waits until it accepts
    /// connections with the `astraflow` database in place.
    pub async fn start(mut settings: Settings) -> Result<Self> {
        // PostgreSQL's tools run from `/` (the server's working directory may not be readable by
        // the database account), so a relative data directory must be resolved first.
        settings.data_dir = std::path::absolute(&settings.data_dir).map_err(io_error(format!(
            "resolving {}",
            settings.data_dir.display()
        )))?;
        let bin_dir = match &settings.bin_dir {
            Some(dir) => dir.clone(),
            None => find_bin_dir()?,
        };
        let run_as = if nix::unistd::geteuid().is_root() {
            let user = User::from_name(&settings.system_user)
                .ok()
                .flatten()
                .ok_or_else(|| EmbeddedPgError::NoSystemUser {
                    user: settings.system_user.clone(),
                })?;
            let name = std::ffi::CString::new(user.name.clone()).map_err(|_| {
                EmbeddedPgError::NoSystemUser {
                    user: settings.system_user.clone(),
                }
            })?;
            let groups = nix::unistd::getgrouplist(&name, user.gid)
                .map_err(|e| io_error("reading the database account's groups")(e.into()))?;
            let run_as = RunAs {
                uid: user.uid.as_raw(),
                gid: user.gid.as_raw(),
                groups: groups.iter().map(|g| g.as_raw()).collect(),
            };
            ensure_reachable(&settings.data_dir, &run_as, &settings.system_user)?;
            Some(run_as)
        } else {
            None
        };

        let password = if settings.data_dir.join("PG_VERSION").exists() {
            read_password(&password_file(&settings.data_dir))?
        } else {
            init_cluster(&bin_dir, &settings.data_dir, run_as.as_ref()).await?
        };

        let mut instance = Self {
            port: settings.port,
            settings,
            bin_dir,
            run_as,
            password,
            child: None,
        };
        instance.launch().await?;
        Ok(instance)
    }

    /// Connection options for the `astraflow` database of this instance.
    pub fn connect_options(&self) -> PgConnectOptions {
        PgConnectOptions::new()
            .host("127.0.0.1")
            .port(self.port)
            .username(DATABASE)
            .password(self.password.expose_secret())
            .database(DATABASE)
            .application_name("astraflow")
    }

    /// The loopback port the instance listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the instance with a fast shutdown (connections are closed, data is flushed).
    /// Safe to call more than once.
    pub async fn stop(&mut self) -> Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        if let Some(pid) = child.id() {
            // SIGINT is PostgreSQL's "fast shutdown".
            let _ = kill(Pid::from_raw(pid as i32), Signal::SIGINT);
        }
        match tokio::time::timeout(Duration::from_secs(30), child.wait()).await {
            Ok(status) => {
                status.map_err(io_error("waiting for PostgreSQL to stop"))?;
            }
            Err(_) => {
                tracing::warn!("PostgreSQL did not stop within 30s; killing it");
                child.kill().await.map_err(io_error("killing PostgreSQL"))?;
            }
        }
        tracing::info!(data_dir = %self.settings.data_dir.display(), "embedded PostgreSQL stopped");
        Ok(())
    }

    /// Starts the instance again after [`stop`](Self::stop), on the same port.
    pub async fn restart(&mut self) -> Result<()> {
        self.stop().await?;
        self.launch().await
    }

    async fn launch(&mut self) -> Result<()> {
        stop_leftover(&self.settings.data_dir, &self.bin_dir, self.run_as.as_ref()).await?;
        if self.port == 0 {
            self.port = free_port()?;
        }
        let log_path = log_file(&self.settings.data_dir);
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(io_error(format!("opening {}", log_path.display())))?;
        let log_err = log
            .try_clone()
            .map_err(io_error("duplicating the log handle"))?;

        let mut command = self.command("postgres");
        command
            .arg("-D")
            .arg(&self.settings.data_dir)
            .arg("-p")
            .arg(self.port.to_string())
            .args(["-c", "listen_addresses=127.0.0.1"])
            .args(["-c", "unix_socket_directories="])
            .args(["-c", "logging_collector=off"])
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            // Own process group: a terminal's Ctrl-C goes to the server, which shuts the
            // database down after its own connections are closed.
            .process_group(0);
        let child = command.spawn().map_err(io_error("starting postgres"))?;
        self.child = Some(child);

        self.wait_until_ready(&log_path).await?;
        self.ensure_database().await?;
        tracing::info!(
            port = self.port,
            data_dir = %self.settings.data_dir.display(),
            "embedded PostgreSQL ready"
        );
        Ok(())
    }

    async fn wait_until_ready(&mut self, log_path: &Path) -> Result<()> {
        let options = self.connect_options().database("postgres");
        let deadline = tokio::time::Instant::now() + START_TIMEOUT;
        let mut delay = Duration::from_millis(20);
        loop {
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait().map_err(io_error("polling postgres"))?
            {
                self.child = None;
                return Err(EmbeddedPgError::ExitedDuringStart {
                    status: status.to_string(),
                    log: tail(log_path, 20),
                });
            }
            match options.connect().await {
                Ok(connection) => {
                    let _ = connection.close().await;
                    return Ok(());
                }
                Err(_) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_millis(250));
                }
                Err(_) => {
                    return Err(EmbeddedPgError::StartTimeout(
                        START_TIMEOUT,
                        log_path.into(),
                    ));
                }
            }
        }
    }

    async fn ensure_database(&self) -> Result<()> {
        let mut connection = self
            .connect_options()
            .database("postgres")
            .connect()
            .await?;
        let exists: bool =
            sqlx::query_scalar("select exists (select 1 from pg_database where datname = $1)")
                .bind(DATABASE)
                .fetch_one(&mut connection)
                .await?;
        if !exists {
            sqlx::query(&format!("create database {DATABASE}"))
                .execute(&mut connection)
                .await?;
        }
        connection.close().await?;
        Ok(())
    }

    fn command(&self, program: &str) -> Command {
        command(&self.bin_dir, program, self.run_as.as_ref())
    }
}

impl Drop for EmbeddedPostgres {
    fn drop(&mut self) {
        // Normal shutdown goes through `stop`. If the server is unwinding instead, still ask
        // PostgreSQL for a fast shutdown rather than leaving it running. (No `kill_on_drop`:
        // SIGKILL would skip the clean shutdown this asks for.)
        if let Some(pid) = self.child.as_ref().and_then(Child::id) {
            let _ = kill(Pid::from_raw(pid as i32), Signal::SIGINT);
        }
    }
}

fn command(bin_dir: &Path, program: &str, run_as: Option<&RunAs>) -> Command {
    let mut command = Command::new(bin_dir.join(program));
    command
        .current_dir("/")
        .env_remove("PGDATA")
        .env("LC_ALL", "C.UTF-8");
    if let Some(&RunAs { uid, gid, .. }) = run_as {
        command.uid(uid).gid(gid);
    }
    command
}

/// Makes sure the database account can reach its data directory. The server's own data
/// directory, which holds it, is often private to the server (`mktemp -d` and service managers
/// make it 0700): when the server owns it and its group is the server's, it is given to the
/// account's group with pass-through access only (g+x: no listing, no reading), so the server's
/// other files stay private. Any other directory on the way that the account cannot enter is
/// reported with the change to make, rather than failing later inside `initdb`.
fn ensure_reachable(data_dir: &Path, run_as: &RunAs, user: &str) -> Result<()> {
    let Some(holder) = data_dir.parent() else {
        return Ok(());
    };
    let mut ancestors: Vec<&Path> = holder.ancestors().collect();
    ancestors.reverse();
    for dir in ancestors {
        let meta = match fs::metadata(dir) {
            Ok(meta) => meta,
            // Created later by the server, with a mode the account can pass.
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(error) => return Err(io_error(format!("reading {}", dir.display()))(error)),
        };
        if run_as.can_enter(&meta) {
            continue;
        }
        let server = nix::unistd::geteuid().as_raw();
        let server_group = nix::unistd::getegid().as_raw();
        if dir == holder && meta.uid() == server && meta.gid() == server_group {
            chown(dir, None, Some(run_as.gid)).map_err(io_error(format!(
                "giving {} to the database account's group",
                dir.display()
            )))?;
            let mode = (meta.mode() & 0o7777) | 0o010;
            fs::set_permissions(dir, fs::Permissions::from_mode(mode)).map_err(io_error(
                format!("letting the database account pass {}", dir.display()),
            ))?;
            tracing::info!(
                dir = %dir.display(),
                mode = format!("{mode:04o}"),
                "the embedded PostgreSQL's account may now pass through the data directory"
            );
            continue;
        }
        return Err(EmbeddedPgError::Unreachable {
            user: user.to_owned(),
            path: dir.to_owned(),
            mode: meta.mode() & 0o7777,
            owner: meta.uid(),
        });
    }
    Ok(())
}

fn password_file(data_dir: &Path) -> PathBuf {
    sibling(data_dir, "password")
}

fn log_file(data_dir: &Path) -> PathBuf {
    sibling(data_dir, "log")
}

/// `.astraflow/pg` → `.astraflow/pg.<suffix>`: files the server owns, next to the data directory
/// PostgreSQL owns.
fn sibling(data_dir: &Path, suffix: &str) -> PathBuf {
    let mut name = data_dir
        .file_name()
        .unwrap_or(OsStr::new("pg"))
        .to_os_string();
    name.push(".");
    name.push(suffix);
    data_dir.with_file_name(name)
}

fn read_password(path: &Path) -> Result<SecretString> {
    let text = fs::read_to_string(path).map_err(io_error(format!(
        "reading {} (the embedded database's password; without it the data directory cannot \
         be opened)",
        path.display()
    )))?;
    Ok(SecretString::from(text.trim().to_owned()))
}

/// Runs `initdb` into an empty `data_dir` and returns the generated superuser password.
async fn init_cluster(
    bin_dir: &Path,
    data_dir: &Path,
    run_as: Option<&RunAs>,
) -> Result<SecretString> {
    let parent = data_dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(io_error(format!("creating {}", parent.display())))?;
    // A previous initdb may have died half-way; it only ever leaves an incomplete directory.
    if data_dir.exists() {
        fs::remove_dir_all(data_dir).map_err(io_error(format!(
            "removing incomplete {}",
            data_dir.display()
        )))?;
    }
    fs::create_dir(data_dir).map_err(io_error(format!("creating {}", data_dir.display())))?;
    fs::set_permissions(data_dir, fs::Permissions::from_mode(0o700))
        .map_err(io_error("restricting the data directory"))?;

    let password = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    // initdb reads the password from a file; it must be readable by the account initdb runs as
    // and exist only for the duration of the call.
    let init_password = sibling(data_dir, "initpw");
    write_private(&init_password, &password)?;
    if let Some(&RunAs { uid, gid, .. }) = run_as {
        for path in [data_dir, init_password.as_path()] {
            chown(path, Some(uid), Some(gid)).map_err(io_error(format!(
                "giving {} to the database account",
                path.display()
            )))?;
        }
    }

    let output = command(bin_dir, "initdb", run_as)
        .arg("-D")
        .arg(data_dir)
        .args(["--username", DATABASE, "--encoding", "UTF8", "--no-locale"])
        .args([
            "--auth-host",
            "scram-sha-256",
            "--auth-local",
            "scram-sha-256",
        ])
        .arg(format!("--pwfile={}", init_password.display()))
        .output()
        .await;
    let _ = fs::remove_file(&init_password);
    let output = output.map_err(io_error("running initdb"))?;
    if !output.status.success() {
        let _ = fs::remove_dir_all(data_dir);
        return Err(EmbeddedPgError::Command {
            action: "initdb",
            detail: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        });
    }

    // Written last: its presence with PG_VERSION marks a complete initialisation.
    write_private(&password_file(data_dir), &password)?;
    tracing::info!(data_dir = %data_dir.display(), "initialised embedded PostgreSQL");
    Ok(SecretString::from(password))
}

fn write_private(path: &Path, contents: &str) -> Result<()> {
    let mut file = fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(path)
        .map_err(io_error(format!("creating {}", path.display())))?;
    file.write_all(contents.as_bytes())
        .map_err(io_error(format!("writing {}", path.display())))
}

/// A server that was killed (not stopped) leaves its PostgreSQL running on the data directory.
/// Stop it, so this start owns the instance.
async fn stop_leftover(data_dir: &Path, bin_dir: &Path, run_as: Option<&RunAs>) -> Result<()> {
    let pid_file = data_dir.join("postmaster.pid");
    let Ok(contents) = fs::read_to_string(&pid_file) else {
        return Ok(());
    };
    let Some(pid) = contents
        .lines()
        .next()
        .and_then(|l| l.trim().parse::<i32>().ok())
    else {
        return Ok(());
    };
    // No such process: PostgreSQL removes a stale pid file itself.
    if kill(Pid::from_raw(pid), None).is_err() {
        return Ok(());
    }
    tracing::warn!(
        pid,
        "stopping a PostgreSQL left running on the data directory"
    );
    let output = command(bin_dir, "pg_ctl", run_as)
        .arg("stop")
        .arg("-D")
        .arg(data_dir)
        .args(["-m", "fast", "-w", "-t", "30"])
        .output()
        .await
        .map_err(io_error("running pg_ctl stop"))?;
    if !output.status.success() {
        return Err(EmbeddedPgError::Command {
            action: "stopping a leftover PostgreSQL",
            detail: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        });
    }
    Ok(())
}

fn free_port() -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(io_error("finding a free loopback port"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(io_error("reading the free port"))
}

/// Finds the directory with `initdb` and `postgres`: next to `pg_ctl`/`initdb` on `PATH`, then
/// Debian's versioned `/usr/lib/postgresql/<major>/bin`, newest first.
pub fn find_bin_dir() -> Result<PathBuf> {
    let has_binaries = |dir: &Path| dir.join("initdb").is_file() && dir.join("postgres").is_file();
    let mut searched = Vec::new();
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if let Ok(initdb) = fs::canonicalize(dir.join("initdb"))
                && let Some(real_dir) = initdb.parent()
                && has_binaries(real_dir)
            {
                return Ok(real_dir.to_path_buf());
            }
        }
        searched.push("PATH".to_owned());
    }
    let root = Path::new("/usr/lib/postgresql");
    let mut majors: Vec<(u32, PathBuf)> = fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let major = entry.file_name().to_str()?.parse().ok()?;
            Some((major, entry.path().join("bin")))
        })
        .collect();
    majors.sort_by_key(|(major, _)| std::cmp::Reverse(*major));
    searched.push(root.display().to_string());
    majors
        .into_iter()
        .map(|(_, dir)| dir)
        .find(|dir| has_binaries(dir))
        .ok_or(EmbeddedPgError::BinariesNotFound {
            searched: searched.join(", "),
        })
}

/// The last `lines` lines of a log file, for error messages.
fn tail(path: &Path, lines: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_files_sit_beside_the_data_directory() {
        let dir = Path::new(".astraflow/pg");
        assert_eq!(password_file(dir), PathBuf::from(".astraflow/pg.password"));
        assert_eq!(log_file(dir), PathBuf::from(".astraflow/pg.log"));
    }

    #[test]
    fn tail_returns_the_last_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        fs::write(&path, "a\nb\nc\nd\n").unwrap();
        assert_eq!(tail(&path, 2), "c\nd");
        assert_eq!(tail(&dir.path().join("missing"), 2), "");
    }
}
