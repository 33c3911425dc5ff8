//! A server process of a fixture (swtpm, `p11-kit server`): killed when dropped, and, when
//! `setpriv` is there, killed by the kernel when the thread that started it dies.

use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::Error;
use crate::softhsm::on_path;

/// How long a server may take to listen.
const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// util-linux's `setpriv`: `--pdeathsig KILL` sets `PR_SET_PDEATHSIG` and runs the server,
/// so a server outlives no crashed or killed test.
const SETPRIV: &str = "setpriv";

/// A running server, stopped (killed, then waited for) on drop.
///
/// The parent-death guard (`PR_SET_PDEATHSIG` through `setpriv`) fires when the *thread*
/// that started the server ends: start and drop a fixture on the same thread (a test's own
/// thread, `main`), which is what tests do.
#[derive(Debug)]
pub(crate) struct Server {
    name: &'static str,
    child: Option<Child>,
    log: PathBuf,
}

impl Server {
    /// Starts `program` with `args` and `env`, stdin closed, stdout and stderr into `log`.
    ///
    /// # Errors
    /// [`Error::Io`] when the log cannot be made, [`Error::Spawn`] when the program cannot
    /// be started.
    pub(crate) fn spawn(
        name: &'static str,
        program: &Path,
        args: &[&std::ffi::OsStr],
        env: &[(&str, &std::ffi::OsStr)],
        log: PathBuf,
    ) -> Result<Self, Error> {
        let out = std::fs::File::create(&log).map_err(|e| Error::io("create", &log, e))?;
        let err = out.try_clone().map_err(|e| Error::io("open", &log, e))?;
        let mut cmd = if on_path(SETPRIV) {
            let mut c = Command::new(SETPRIV);
            c.args(["--pdeathsig", "KILL", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        };
        cmd.args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        let child = cmd.spawn().map_err(|source| Error::Spawn {
            program: program.display().to_string(),
            source,
        })?;
        Ok(Self {
            name,
            child: Some(child),
            log,
        })
    }

    /// The server's process id.
    pub(crate) fn id(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// [`Error::Server`] when the server has exited, with its log.
    fn check_running(&mut self) -> Result<(), Error> {
        let exited = match self.child.as_mut().map(Child::try_wait) {
            Some(Ok(None)) => return Ok(()),
            Some(Ok(Some(status))) => status.to_string(),
            Some(Err(e)) => e.to_string(),
            None => "stopped".to_owned(),
        };
        self.child = None;
        Err(self.failed(&format!("exited ({exited})")))
    }

    /// An [`Error::Server`] saying `what`, with the server's log.
    pub(crate) fn failed(&self, what: &str) -> Error {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        Error::Server {
            command: self.name.to_owned(),
            reason: format!("{what}; its output: {}", log.trim()),
        }
    }

    /// Waits until `ready` holds, while the server runs, at most [`READY_TIMEOUT`].
    ///
    /// # Errors
    /// [`Error::Server`] when the server exits or the time is up.
    pub(crate) fn wait_until(&mut self, mut ready: impl FnMut() -> bool) -> Result<(), Error> {
        let start = Instant::now();
        loop {
            self.check_running()?;
            if ready() {
                return Ok(());
            }
            if start.elapsed() > READY_TIMEOUT {
                return Err(self.failed(&format!("not ready after {READY_TIMEOUT:?}")));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the server now: kills it and waits for it.
    pub(crate) fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Whether something accepts TCP connections on `127.0.0.1:port` ([`crate::net::accepts`]).
pub(crate) fn listening(port: u16) -> bool {
    crate::net::accepts(port, Duration::from_millis(200))
}

/// Two consecutive TCP ports on `127.0.0.1`, held (bound and listening) until dropped; see
/// [`free_port_pair`].
#[derive(Debug)]
pub(crate) struct PortPair {
    port: u16,
    _held: [TcpListener; 2],
}

impl PortPair {
    /// The first port; the second is `port() + 1`.
    pub(crate) fn port(&self) -> u16 {
        self.port
    }
}

/// Two consecutive TCP ports, `port` and `port + 1`, bound on `127.0.0.1` and held until the
/// [`PortPair`] is dropped (swtpm's TCTI finds the control port after the command port).
/// Drop it just before the server binds them; another process may still take one in
/// between: callers retry.
///
/// # Errors
/// [`Error::Io`] when no port can be bound, or no free pair is found in 50 tries.
pub(crate) fn free_port_pair() -> Result<PortPair, Error> {
    let bind = |port: u16| TcpListener::bind((Ipv4Addr::LOCALHOST, port));
    let io = |e| Error::io("bind a TCP port on", "127.0.0.1", e);
    for _ in 0..50 {
        let first = bind(0).map_err(io)?;
        let port = first.local_addr().map_err(io)?.port();
        if port == u16::MAX {
            continue;
        }
        if let Ok(second) = bind(port + 1) {
            return Ok(PortPair {
                port,
                _held: [first, second],
            });
        }
    }
    Err(io(std::io::Error::new(
        std::io::ErrorKind::AddrInUse,
        "no two consecutive free ports",
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_that_exits_is_reported_with_its_output() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Server::spawn(
            "sh",
            Path::new("sh"),
            &["-c".as_ref(), "echo bad config >&2; exit 3".as_ref()],
            &[],
            dir.path().join("log"),
        )
        .unwrap();
        let e = s.wait_until(|| false).unwrap_err().to_string();
        assert!(
            e.contains("`sh` did not start: exited") && e.contains("bad config"),
            "{e}"
        );
    }

    #[test]
    fn a_server_is_killed_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let s = Server::spawn(
            "sleep",
            Path::new("sleep"),
            &["600".as_ref()],
            &[],
            dir.path().join("log"),
        )
        .unwrap();
        let pid = s.id().unwrap();
        let proc_dir = PathBuf::from(format!("/proc/{pid}"));
        assert!(proc_dir.exists());
        drop(s);
        // Killed and reaped: the process is gone, not a zombie.
        assert!(!proc_dir.exists(), "{pid} still there");
    }

    #[test]
    fn free_port_pairs_are_consecutive_and_held_until_dropped() {
        let pair = free_port_pair().unwrap();
        let port = pair.port();
        let addrs: Vec<u16> = pair
            ._held
            .iter()
            .map(|l| l.local_addr().unwrap().port())
            .collect();
        assert_eq!(addrs, [port, port + 1]);
        // Held: nobody else can bind either port, and both accept connections.
        for p in [port, port + 1] {
            let taken = TcpListener::bind((Ipv4Addr::LOCALHOST, p)).unwrap_err();
            assert_eq!(taken.kind(), std::io::ErrorKind::AddrInUse, "port {p}");
            assert!(listening(p), "port {p}");
        }
    }
}
