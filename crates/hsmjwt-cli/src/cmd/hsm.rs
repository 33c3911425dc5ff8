//! `hsmjwt hsm ...`.

use std::process::ExitCode;

use anyhow::Result;
use hsmjwt::pkcs11::Pkcs11Uri;

use crate::args::HsmCommand;

pub(crate) fn run(c: &HsmCommand) -> Result<ExitCode> {
    match c {
        HsmCommand::List(a) => {
            let uri = a
                .token
                .as_deref()
                .map(str::parse::<Pkcs11Uri>)
                .transpose()?;
            let inventory = hsmjwt::key::list_tokens(a.module.as_deref(), uri.as_ref())?;
            if a.json {
                super::out_json(&serde_json::to_value(&inventory)?)?;
            } else {
                super::out(inventory.to_string().trim_end())?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
