//! `hsmjwt completions`: shell completion scripts, from the same clap definitions as the
//! parser (`clap_complete`).

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, CommandFactory};
use clap_complete::Shell;

use crate::args::Cli;

/// Arguments of `hsmjwt completions`.
#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum, ignore_case = true)]
    shell: Shell,
}

pub(crate) fn run(a: &CompletionsArgs) -> Result<ExitCode> {
    // clap_complete panics when its writer fails: it writes to memory, and a failed write to
    // stdout (a closed pipe) is an error here.
    let mut script = Vec::new();
    clap_complete::generate(a.shell, &mut Cli::command(), "hsmjwt", &mut script);
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(&script)?;
    stdout.flush()?;
    Ok(ExitCode::SUCCESS)
}
