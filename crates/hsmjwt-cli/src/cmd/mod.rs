//! One module per subcommand.

pub(crate) mod agent;
pub(crate) mod bench;
pub(crate) mod cert;
pub(crate) mod completions;
pub(crate) mod credentials;
mod decode;
pub(crate) mod demo;
pub(crate) mod hsm;
pub(crate) mod ims;
pub(crate) mod jar;
mod keygen;
pub(crate) mod man;
pub(crate) mod oauth;
mod pubkey;
pub(crate) mod service_token;
mod sign;
mod signals;
mod verify;

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use hsmjwt::NumericDate;
use hsmjwt::key::KeySource;
use hsmjwt::soft::{Certificate, Validity};

use crate::args::{Cli, Command};

/// Runs the parsed command.
pub(crate) fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Keygen(a) => keygen::run(&a),
        Command::Pubkey(a) => pubkey::run(&a),
        Command::Sign(a) => sign::run(&a),
        Command::Verify(a) => verify::run(&a),
        Command::Decode(a) => decode::run(&a),
        Command::Hsm(c) => hsm::run(&c),
        Command::Ims(c) => ims::run(c),
        Command::Oauth(c) => oauth::run(c),
        Command::Agent(a) => agent::run(a),
        Command::Demo(a) => demo::run(&a),
        Command::Bench(a) => bench::run(&a),
        Command::ServiceToken(a) => service_token::run(&a),
        Command::Jar(a) => jar::run(&a),
        Command::Credentials(c) => credentials::run(c),
        Command::Completions(a) => completions::run(&a),
        Command::Man(a) => man::run(&a),
        Command::Cert(c) => cert::run(&c),
    }
}

/// Parses a KEY argument (file path or pkcs11: URI). Name the key in output through the
/// `KeySource`'s `Display` (its `pin-value` redacted), never as the argument was given.
pub(crate) fn key_source(arg: &str) -> Result<KeySource> {
    Ok(arg.parse::<KeySource>()?)
}

/// Prints a line on stdout.
pub(crate) fn out(text: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{text}")?;
    stdout.flush()?;
    Ok(())
}

/// Prints JSON on stdout, pretty, with what a terminal would act on escaped
/// ([`hsmjwt::core::text::pretty_json`]): values from tokens, files and servers included.
pub(crate) fn out_json(value: &(impl serde::Serialize + ?Sized)) -> Result<()> {
    out(&hsmjwt::core::text::pretty_json(value)?)
}

/// Refuses a certificate that is expired or not yet valid at `now`, and warns on stderr
/// within 30 days of its end: the `--cert` check of `sign` and `verify`.
pub(crate) fn check_certificate(cert: &Certificate, now: NumericDate) -> Result<()> {
    warn_if_expiring(cert, cert.check(now)?);
    Ok(())
}

/// Warns on stderr when `validity`, the certificate's as checked, ends within 30 days.
pub(crate) fn warn_if_expiring(cert: &Certificate, validity: Validity) {
    if let Validity::ExpiresSoon { days_left } = validity {
        eprintln!(
            "warning: certificate `{}` expires in {days_left} days ({}); renew it",
            hsmjwt::core::text::Untrusted(cert.subject()),
            cert.not_after_text()
        );
    }
}

/// The kind of a key as the commands print it: "RSA 2048", "EC P-256".
pub(crate) fn key_kind(params: &hsmjwt::core::PublicKeyParams) -> String {
    match params.kind() {
        hsmjwt::core::KeyKind::Rsa => format!("RSA {}", params.bits()),
        other => other.to_string(),
    }
}

/// Resolves a `--kid` argument: `thumbprint` means the RFC 7638 thumbprint of `jwk`.
pub(crate) fn resolve_kid(arg: Option<&str>, jwk: &hsmjwt::Jwk) -> Option<String> {
    arg.map(|k| {
        if k == "thumbprint" {
            jwk.thumbprint()
        } else {
            k.to_owned()
        }
    })
}
