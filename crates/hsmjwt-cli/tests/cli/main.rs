//! Runs the built `hsmjwt` binary as a user would, one module per area.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod agent;
mod bench;
pub(crate) mod certs;
mod credentials;
mod files;
mod hsm;
mod import;
mod ims;
mod inspect;
mod limits;
mod profiles;
mod secrets;
mod untrusted;
mod usage;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use hsmjwt_testkit::softhsm::SoftHsm;

pub(crate) struct Run {
    out: Output,
}

impl Run {
    pub(crate) fn ok(self) -> String {
        assert!(
            self.out.status.success(),
            "expected success, got {:?}\nstderr: {}",
            self.out.status,
            self.stderr()
        );
        self.stdout()
    }

    /// Fails with exit status 1 and exactly one `error:` line; returns that line.
    pub(crate) fn fails(self) -> String {
        assert_eq!(
            self.out.status.code(),
            Some(1),
            "stdout: {}\nstderr: {}",
            self.stdout(),
            self.stderr()
        );
        let err = self.stderr();
        assert!(!err.contains("panicked"), "{err}");
        let lines: Vec<&str> = err.lines().filter(|l| !l.starts_with("warning:")).collect();
        assert_eq!(lines.len(), 1, "one line expected: {err}");
        assert!(lines[0].starts_with("error: "), "{err}");
        lines[0].to_owned()
    }

    pub(crate) fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).into_owned()
    }

    pub(crate) fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }
}

pub(crate) fn hsmjwt(args: &[&str]) -> Run {
    hsmjwt_with(args, None, &[])
}

pub(crate) fn hsmjwt_stdin(args: &[&str], stdin: Option<&str>) -> Run {
    hsmjwt_with(args, stdin, &[])
}

/// Runs `hsmjwt` with the given stdin and extra environment (HSM variables are cleared first).
pub(crate) fn hsmjwt_with(args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hsmjwt"))
        .args(args)
        .env_remove("HSMJWT_PIN")
        .env_remove("PKCS11_MODULE")
        .env_remove("SOFTHSM2_CONF")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn hsmjwt");
    let mut pipe = child.stdin.take().expect("stdin");
    if let Some(input) = stdin {
        pipe.write_all(input.as_bytes()).expect("write stdin");
    }
    drop(pipe);
    Run {
        out: child.wait_with_output().expect("wait"),
    }
}

/// Runs `hsmjwt` as [`hsmjwt_with`] does, with `stdin` given as a file, under a memory
/// limit (`ulimit -v`, 4 GiB) and a time limit: a run still going after `limit` is killed.
/// For inputs that never end (`/dev/zero`): a command that reads without a bound then fails
/// at once (out of memory, or killed), and the test suite neither hangs nor exhausts the
/// machine.
pub(crate) fn hsmjwt_bounded(
    args: &[&str],
    stdin: Option<&Path>,
    env: &[(&str, &str)],
    limit: Duration,
) -> Run {
    let stdin = match stdin {
        Some(path) => Stdio::from(std::fs::File::open(path).expect("open stdin")),
        None => Stdio::null(),
    };
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(r#"ulimit -v 4194304 && exec "$0" "$@""#)
        .arg(env!("CARGO_BIN_EXE_hsmjwt"))
        .args(args)
        .env_remove("HSMJWT_PIN")
        .env_remove("PKCS11_MODULE")
        .env_remove("SOFTHSM2_CONF")
        .envs(env.iter().copied())
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn hsmjwt");
    let start = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if start.elapsed() > limit {
            // The child is ours; it ran past its time.
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Run {
        out: child.wait_with_output().expect("wait"),
    }
}

/// Runs `hsmjwt` with a SoftHSM2 fixture's environment (`SOFTHSM2_CONF`, `PKCS11_MODULE`)
/// and, when given, `HSMJWT_PIN`.
pub(crate) fn hsmjwt_softhsm(hsm: &SoftHsm, args: &[&str], pin: Option<&str>) -> Run {
    let mut env: Vec<(&str, &str)> = hsm
        .env()
        .into_iter()
        .map(|(name, value)| (name, value.to_str().expect("utf-8 path")))
        .collect();
    env.extend(pin.map(|pin| ("HSMJWT_PIN", pin)));
    hsmjwt_with(args, None, &env)
}

/// Runs `openssl ARGS` in `dir`, which must succeed; returns its stdout.
pub(crate) fn openssl(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("openssl is installed");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The README of the workspace.
pub(crate) fn readme() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
    std::fs::read_to_string(path).unwrap()
}

pub(crate) fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

pub(crate) fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}
