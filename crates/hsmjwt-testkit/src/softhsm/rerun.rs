//! Running this executable again with the fixture's environment, and knowing, in the
//! child, that it is that child.

use std::ffi::OsString;
use std::fmt;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};

use super::SoftHsm;
use crate::Error;

/// Set in a re-run child: the process id of the parent that ran it. A child's own
/// children inherit it, but their parent is another process, so they are not taken for
/// re-run children.
const CHILD_ENV: &str = "HSMJWT_SOFTHSM_FIXTURE";

/// The exit code when the child ends without one (killed by a signal) or cannot be run:
/// the test harness's code for a failure.
const FAILED: i32 = 101;

/// How [`SoftHsm::rerun`] runs this executable again: its arguments and the environment
/// besides the fixture's.
#[derive(Clone)]
#[must_use]
pub struct Rerun {
    args: Option<Vec<OsString>>,
    env: Vec<(OsString, Option<OsString>)>,
}

impl Rerun {
    /// With this process's own arguments: a test binary runs the same tests again.
    pub fn same_args() -> Self {
        Self {
            args: None,
            env: Vec::new(),
        }
    }

    /// With these arguments.
    pub fn with_args<I, S>(args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        Self {
            args: Some(args.into_iter().map(Into::into).collect()),
            env: Vec::new(),
        }
    }

    /// A test binary running only the test `name` (its full path in the crate, as the
    /// harness lists it), on one thread, its output shown: `--exact NAME --nocapture
    /// --test-threads 1`.
    pub fn one_test(name: &str) -> Self {
        Self::with_args(["--exact", name, "--nocapture", "--test-threads", "1"])
    }

    /// Sets `key` in the child's environment (after the fixture's own variables).
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), Some(value.into())));
        self
    }

    /// Removes `key` from the child's environment (for example `HSMJWT_PIN`, so that a test
    /// without a PIN does not find one there).
    pub fn env_remove(mut self, key: impl Into<OsString>) -> Self {
        self.env.push((key.into(), None));
        self
    }
}

/// Shows the arguments and the names of the variables, not their values (a PIN may be
/// among them).
impl fmt::Debug for Rerun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let env: Vec<String> = self
            .env
            .iter()
            .map(|(k, v)| {
                let sign = if v.is_some() { "=..." } else { " removed" };
                format!("{}{sign}", k.to_string_lossy())
            })
            .collect();
        f.debug_struct("Rerun")
            .field("args", &self.args)
            .field("env", &env)
            .finish()
    }
}

impl SoftHsm {
    /// Runs this executable again, as `how` says, with [`env`](Self::env) and a marker
    /// that [`Builder::attach`](super::Builder::attach) finds, stdin closed, stdout and
    /// stderr shared; waits for it and returns its status.
    ///
    /// # Errors
    /// [`Error::Io`] when the executable's path is unknown, [`Error::Spawn`] when it cannot
    /// be run.
    pub fn rerun(&self, how: &Rerun) -> Result<ExitStatus, Error> {
        let mut cmd = self.rerun_command(how)?;
        cmd.status().map_err(|source| Error::Spawn {
            program: cmd.get_program().to_string_lossy().into_owned(),
            source,
        })
    }

    /// The command [`rerun`](Self::rerun) runs, for a caller that spawns it itself (to
    /// stop the child when it is interrupted, for example): this executable, as `how`
    /// says, with [`env`](Self::env), the marker and stdin closed.
    ///
    /// # Errors
    /// [`Error::Io`] when the executable's path is unknown.
    pub fn rerun_command(&self, how: &Rerun) -> Result<Command, Error> {
        let exe = std::env::current_exe()
            .map_err(|e| Error::io("find the path of", "this executable", e))?;
        let mut cmd = Command::new(&exe);
        match &how.args {
            Some(args) => cmd.args(args),
            None => cmd.args(std::env::args_os().skip(1)),
        };
        self.apply_env(&mut cmd);
        for (key, value) in &how.env {
            match value {
                Some(value) => cmd.env(key, value),
                None => cmd.env_remove(key),
            };
        }
        cmd.env(CHILD_ENV, std::process::id().to_string())
            .stdin(Stdio::null());
        Ok(cmd)
    }

    /// [`rerun`](Self::rerun), then removes a temporary folder and exits this process with
    /// the child's exit code (101 when it has none or could not be run, after an `error:`
    /// line on stderr).
    pub fn rerun_and_exit(self, how: &Rerun) -> ! {
        let code = match self.rerun(how) {
            Ok(status) => status.code().unwrap_or(FAILED),
            Err(e) => {
                let _ = writeln!(std::io::stderr(), "error: {e}");
                FAILED
            }
        };
        drop(self);
        std::process::exit(code)
    }
}

/// In a child run by [`SoftHsm::rerun`] from its direct parent: the fixture's
/// configuration file; `None` in any other process.
pub(super) fn child_conf() -> Result<Option<PathBuf>, Error> {
    let Some(parent) = std::env::var_os(CHILD_ENV) else {
        return Ok(None);
    };
    if !is_parent(&parent) {
        return Ok(None);
    }
    match std::env::var_os("SOFTHSM2_CONF").filter(|c| !c.is_empty()) {
        Some(conf) => Ok(Some(PathBuf::from(conf))),
        None => Err(Error::WrongEnvironment { conf: None }),
    }
}

/// Whether `pid` (the marker's value) is this process's parent. Where the parent is not
/// known (not Unix), the marker alone counts.
fn is_parent(pid: &std::ffi::OsStr) -> bool {
    #[cfg(unix)]
    {
        pid.to_str()
            .and_then(|p| p.parse::<u32>().ok())
            .is_some_and(|p| p == std::os::unix::process::parent_id())
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_test_runs_exactly_that_test_on_one_thread() {
        let how = Rerun::one_test("a::b").env("HSMJWT_PIN", "98765");
        let args: Vec<&str> = how
            .args
            .as_deref()
            .unwrap()
            .iter()
            .map(|a| a.to_str().unwrap())
            .collect();
        assert_eq!(
            args,
            ["--exact", "a::b", "--nocapture", "--test-threads", "1"]
        );
        let shown = format!("{how:?}");
        assert!(
            shown.contains("HSMJWT_PIN=...") && !shown.contains("98765"),
            "{shown}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn only_the_direct_parent_counts() {
        let parent = std::os::unix::process::parent_id().to_string();
        assert!(is_parent(parent.as_ref()));
        assert!(!is_parent(std::process::id().to_string().as_ref()));
        assert!(!is_parent("not a pid".as_ref()));
        // This test process is nobody's re-run child.
        assert!(child_conf().unwrap().is_none());
    }
}
