//! Ctrl-C (SIGINT) and SIGTERM, for the commands that outlive a moment: `ims emulator`
//! stops cleanly, an interrupted `demo` removes what it made.

use anyhow::{Context, Result};

/// Which signal came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Caught {
    /// Ctrl-C, SIGINT.
    Interrupt,
    /// SIGTERM.
    Terminate,
}

impl Caught {
    /// The shell's exit status for a process ended by this signal: 128 + its number.
    pub(crate) fn exit_code(self) -> u8 {
        match self {
            Caught::Interrupt => 130,
            Caught::Terminate => 143,
        }
    }
}

/// Listening for Ctrl-C and SIGTERM. From [`Signals::listen`] on, they no longer end the
/// process: the caller decides what they do.
pub(crate) struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    /// Starts listening; call it within a tokio runtime.
    ///
    /// # Errors
    /// When the handlers cannot be installed.
    pub(crate) fn listen() -> Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Signals {
                interrupt: signal(SignalKind::interrupt()).context("cannot listen for Ctrl-C")?,
                terminate: signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?,
            })
        }
        #[cfg(not(unix))]
        Ok(Signals {})
    }

    /// Waits for the next signal.
    pub(crate) async fn recv(&mut self) -> Result<Caught> {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.interrupt.recv() => Ok(Caught::Interrupt),
                _ = self.terminate.recv() => Ok(Caught::Terminate),
            }
        }
        #[cfg(not(unix))]
        {
            tokio::signal::ctrl_c()
                .await
                .context("cannot listen for Ctrl-C")?;
            Ok(Caught::Interrupt)
        }
    }
}
