//! `hsmjwt decode`.

use std::process::ExitCode;

use anyhow::Result;

use crate::args::DecodeArgs;
use crate::input;

pub(crate) fn run(a: &DecodeArgs) -> Result<ExitCode> {
    let token = input::token(a.token.as_deref())?;
    let decoded = hsmjwt::decode_insecure(&token)?;
    eprintln!("warning: signature and claims NOT verified (use `hsmjwt verify`)");
    super::out_json(&serde_json::json!({
        "verified": false,
        "header": decoded.header,
        "claims": decoded.claims,
    }))?;
    Ok(ExitCode::SUCCESS)
}
