//! `hsmjwt decode`.

use std::process::ExitCode;

use anyhow::Result;

use crate::args::DecodeArgs;
use crate::input;

/// Shows the token as it is ([`hsmjwt::core::jws::inspect`]): the JSON on stdout, with a
/// `problems` array; the warning and, when the strict decoder refuses the token, a
/// `problems:` section on stderr. Only input that is not a JWS at all fails.
pub(crate) fn run(a: &DecodeArgs) -> Result<ExitCode> {
    let token = input::token_to_inspect(a.token.as_deref())?;
    let seen = hsmjwt::core::jws::inspect(&token)?;
    let mut note = String::from("warning: signature and claims NOT verified (use `hsmjwt verify`)");
    if !seen.problems.is_empty() {
        note.push_str("\nproblems:");
        for problem in &seen.problems {
            // A problem is one line: what it quotes from the token is escaped.
            note.push_str(&format!("\n  - {problem}"));
        }
    }
    eprintln!("{note}");
    super::out_json(&seen)?;
    Ok(ExitCode::SUCCESS)
}
