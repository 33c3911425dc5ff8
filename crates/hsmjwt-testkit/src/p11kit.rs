//! p11-kit's remoting in front of a SoftHSM2 token: `p11-kit server` serves a token of a
//! [`SoftHsm`] fixture on a Unix socket, and `p11-kit-client.so` is the module a client
//! loads, with `P11_KIT_SERVER_ADDRESS` set. The closest thing to a network HSM that runs
//! on a test machine; p11-kit 0.24 (Debian 12) forwards only the mechanisms it knows.
//!
//! ```no_run
//! use hsmjwt_testkit::p11kit::{self, Server};
//! use hsmjwt_testkit::softhsm::{self, Builder};
//!
//! let Some(client) = p11kit::installed_or_skip() else { return Ok(()) };
//! let Some(installation) = softhsm::installed_or_skip() else { return Ok(()) };
//! let hsm = Builder::new(installation).token("remote").build()?;
//! let server = Server::start(&hsm, "remote")?;
//! // Load `client` with `P11_KIT_SERVER_ADDRESS` = `server.address()`.
//! # let _ = (client, server.address());
//! # Ok::<(), hsmjwt_testkit::Error>(())
//! ```

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::softhsm::{SoftHsm, required};

/// The environment variable naming the server for `p11-kit-client.so`.
pub const ADDRESS_ENV: &str = "P11_KIT_SERVER_ADDRESS";

/// Where distributions put `p11-kit-client.so`.
const CLIENT_PATHS: [&str; 4] = [
    "/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so",
    "/usr/lib/aarch64-linux-gnu/pkcs11/p11-kit-client.so",
    "/usr/lib64/pkcs11/p11-kit-client.so",
    "/usr/lib/pkcs11/p11-kit-client.so",
];

/// `p11-kit-client.so`, when it and the `p11-kit` program are installed.
pub fn client_module() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join("p11-kit").is_file()));
    on_path
        .then(|| {
            CLIENT_PATHS
                .into_iter()
                .map(PathBuf::from)
                .find(|p| p.is_file())
        })
        .flatten()
}

/// [`client_module`], or `None` after printing a `SKIPPED:` line when p11-kit is missing.
///
/// # Panics
/// When p11-kit is missing and tests must run (`CI` or `HSMJWT_REQUIRE_SOFTHSM=1`, as for
/// SoftHSM2): a missing component fails the run instead of skipping silently.
#[allow(clippy::panic)]
pub fn installed_or_skip() -> Option<PathBuf> {
    match client_module() {
        Some(client) => Some(client),
        None if required() => panic!(
            "p11-kit is not installed (p11-kit and p11-kit-client.so); install it with `apt-get install -y p11-kit p11-kit-modules` or `cargo xtask softhsm`"
        ),
        None => {
            println!(
                "SKIPPED: p11-kit is not installed (apt-get install -y p11-kit p11-kit-modules)"
            );
            None
        }
    }
}

/// A `p11-kit server` serving one token of a SoftHSM2 fixture, in the foreground of a child
/// process that is killed when this is dropped.
#[derive(Debug)]
pub struct Server {
    child: Child,
    socket: PathBuf,
}

impl Server {
    /// Starts `p11-kit server` for the token `token` of `hsm` (the fixture's module and
    /// `SOFTHSM2_CONF`), on a socket in the fixture's folder (the same for the same token,
    /// so a server started again after [`kill`](Self::kill) serves the same address), and
    /// waits (up to 10 s) until the socket exists.
    ///
    /// # Errors
    /// [`Error::Spawn`] when `p11-kit` cannot be started, [`Error::Server`] when it exits or
    /// makes no socket in time.
    pub fn start(hsm: &SoftHsm, token: &str) -> Result<Self, Error> {
        let socket = hsm.root().join(format!("p11-kit-{token}.sock"));
        // A server killed earlier leaves its socket file: the new one would be taken for
        // ready before it listens.
        let _ = std::fs::remove_file(&socket);
        let shown = format!("p11-kit server -f -n {} {token}", socket.display());
        let child = Command::new("p11-kit")
            .args(["server", "-f", "-n"])
            .arg(&socket)
            .arg("--provider")
            .arg(hsm.module())
            .arg(format!("pkcs11:token={token}"))
            .env("SOFTHSM2_CONF", hsm.conf())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|source| Error::Spawn {
                program: "p11-kit".to_owned(),
                source,
            })?;
        let mut server = Server { child, socket };
        let start = Instant::now();
        while !server.socket.exists() {
            let exited = server.child.try_wait().ok().flatten();
            if let Some(status) = exited {
                return Err(Error::Server {
                    command: shown,
                    reason: format!("it exited ({status})"),
                });
            }
            if start.elapsed() > Duration::from_secs(10) {
                return Err(Error::Server {
                    command: shown,
                    reason: "no socket after 10 s".to_owned(),
                });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(server)
    }

    /// The value of [`ADDRESS_ENV`] for clients: `unix:path=SOCKET`.
    pub fn address(&self) -> String {
        format!("unix:path={}", self.socket.display())
    }

    /// The socket file.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// The server's process id, for [`cut_clients`] in another process.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the server and every connection it serves (its [`cut_clients`] children), as
    /// a crashed or restarted HSM server would go away; [`start`](Self::start) it again to
    /// bring it back on the same address.
    ///
    /// # Errors
    /// As [`cut_clients`].
    pub fn kill(mut self) -> Result<(), Error> {
        // The children first found, then the server killed (so it forks no new one), then
        // the children: once the server is gone they are no longer its children.
        let clients = children(self.child.id())?;
        let _ = self.child.kill();
        let _ = self.child.wait();
        kill_all(&clients).map(drop)
    }
}

/// Cuts every client of the `p11-kit server` with process id `server` off, as a network
/// blip or a restarted HSM would: the server forks a `p11-kit-remote` child per
/// connection, and these children are killed (the server goes on accepting connections).
/// Returns how many were killed.
///
/// # Errors
/// [`Error::Io`] when `/proc` cannot be read, [`Error::Spawn`] when `kill` cannot be run.
pub fn cut_clients(server: u32) -> Result<usize, Error> {
    kill_all(&children(server)?)
}

/// The processes whose parent is `parent`.
fn children(parent: u32) -> Result<Vec<u32>, Error> {
    let proc_dir = Path::new("/proc");
    let entries = std::fs::read_dir(proc_dir).map_err(|source| Error::Io {
        action: "read",
        path: proc_dir.to_owned(),
        source,
    })?;
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        // `/proc/PID/stat`: "pid (comm) state ppid ..."; comm may hold spaces and parens.
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let ppid = stat
            .rsplit_once(") ")
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(parent) {
            found.push(pid);
        }
    }
    Ok(found)
}

/// Kills each process (`kill PID`); returns how many were killed.
fn kill_all(pids: &[u32]) -> Result<usize, Error> {
    let mut killed = 0;
    for pid in pids {
        let status = Command::new("kill")
            .arg(pid.to_string())
            .stderr(Stdio::null())
            .status()
            .map_err(|source| Error::Spawn {
                program: "kill".to_owned(),
                source,
            })?;
        if status.success() {
            killed += 1;
        }
    }
    Ok(killed)
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
