//! `hsmjwt oauth ...` (placeholder until the exchange client lands).

use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;

/// OAuth subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum OauthCommand {}

pub(crate) fn run(c: OauthCommand) -> Result<ExitCode> {
    match c {}
}
