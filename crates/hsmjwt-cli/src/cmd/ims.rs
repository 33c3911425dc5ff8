//! `hsmjwt ims ...` (placeholder until the exchange client lands).

use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;

/// Adobe IMS subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum ImsCommand {}

pub(crate) fn run(c: ImsCommand) -> Result<ExitCode> {
    match c {}
}
