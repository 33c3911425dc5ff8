//! `hsmjwt demo` (placeholder until the exchange client lands).

use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::Args;

/// Arguments of `hsmjwt demo`.
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {}

pub(crate) fn run(_a: &DemoArgs) -> Result<ExitCode> {
    bail!("not available yet")
}
