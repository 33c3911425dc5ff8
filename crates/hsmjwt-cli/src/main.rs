//! `hsmjwt`: mint, verify and inspect JSON Web Tokens with keys in files or PKCS#11 HSMs.
//!
//! The binary is glue: argument parsing and printing. Everything it does is available
//! from the library crates.

#![forbid(unsafe_code)]

mod args;
mod cmd;
mod input;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use hsmjwt::core::text::Chain;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    // The running agent is a service: its audit lines (info) are logged by default, each
    // line with its time and level.
    let service = matches!(&cli.command, args::Command::Agent(a) if a.config.is_some() && a.command.is_none());
    init_tracing(cli.verbose, service);
    let result = cmd::run(cli);
    // Every signer is gone by now: the PKCS#11 modules this run loaded are finalized.
    for (module, e) in hsmjwt::pkcs11::finalize_all() {
        tracing::debug!(module = %module.display(), error = %e, "C_Finalize failed");
    }
    match result {
        Ok(code) => code,
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            let hint = hint(&err);
            let mut stderr = std::io::stderr().lock();
            // One line: the error, its causes, and what to do about it here. The libraries
            // escape what they quote from tokens, files and servers; `Chain` escapes again
            // whatever a cause might still carry, so the line stays one line.
            let err = Chain(err.as_ref());
            let _ = match hint {
                Some(hint) => writeln!(stderr, "error: {err}; {hint}"),
                None => writeln!(stderr, "error: {err}"),
            };
            ExitCode::FAILURE
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// What a user of this command can do about an error whose fix is a command or an
/// environment variable of `hsmjwt` (the libraries' messages name neither).
fn hint(err: &anyhow::Error) -> Option<&'static str> {
    use hsmjwt::key::KeyError;
    use hsmjwt::pkcs11::Error;
    err.chain().find_map(|e| {
        if let Some(KeyError::ImportProbe { removed: false, .. }) = e.downcast_ref::<KeyError>() {
            return Some("remove what is left with `hsmjwt hsm delete --key URI`");
        }
        let pkcs11 = e
            .downcast_ref::<Error>()
            .or_else(|| match e.downcast_ref::<KeyError>()? {
                KeyError::Pkcs11(inner) => Some(inner),
                _ => None,
            })?;
        match pkcs11 {
            Error::TokenNotFound { .. } => Some("run `hsmjwt hsm list` to see the tokens"),
            Error::KeyNotFound { .. } => Some("run `hsmjwt hsm list` to see the keys"),
            Error::NoPin { .. } => Some(
                "give it with `pin-source=file:/path` in the URI or with HSMJWT_PIN, or run in a terminal to be prompted (or put `pin-value=` in the URI, which `ps` shows)",
            ),
            Error::NoModule => Some(
                "add `module-path=/path/to/module.so` to the URI's query or set PKCS11_MODULE",
            ),
            _ => None,
        }
    })
}

fn init_tracing(verbose: u8, service: bool) {
    let default = match verbose {
        0 if service => "info,rustls_platform_verifier=off,cryptoki=off",
        // rustls-platform-verifier logs a refused certificate as an error, which the failed
        // command reports anyway: a failure stays one line. cryptoki logs every mechanism
        // type of a token's list that it has no name for (p11-kit's remoting lists a dozen)
        // as an error, though nothing failed.
        0 => "warn,rustls_platform_verifier=off,cryptoki=off",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    // A filter that does not parse is reported, not silently replaced (nor fatal: a typo in
    // a log setting should not stop a token from being minted).
    let filter = match std::env::var("HSMJWT_LOG") {
        Ok(spec) if !spec.trim().is_empty() => {
            tracing_subscriber::EnvFilter::try_new(&spec).map_err(|e| e.to_string())
        }
        Err(std::env::VarError::NotUnicode(_)) => Err("not valid UTF-8".to_owned()),
        _ => Ok(tracing_subscriber::EnvFilter::new(default)),
    }
    .unwrap_or_else(|reason| {
        eprintln!(
            "warning: ignoring HSMJWT_LOG: {} (logging at `{default}`)",
            hsmjwt::core::text::clean(&reason, 200)
        );
        tracing_subscriber::EnvFilter::new(default)
    });
    let plain = verbose == 0 && !service && std::env::var_os("HSMJWT_LOG").is_none();
    // Colours only on a terminal: a log file or a pipe gets no escape sequences.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = if plain {
        builder.event_format(Warning).try_init()
    } else {
        builder.try_init()
    };
}

/// How the default log level shows the libraries' warnings: one `warning: ...` line each,
/// beside the one `error: ...` line of a failure (no time, level or module).
struct Warning;

impl<S, N> tracing_subscriber::fmt::FormatEvent<S, N> for Warning
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut writer: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        write!(writer, "warning: ")?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}
