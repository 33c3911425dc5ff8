//! Reading tokens and JSON from arguments, files and stdin, each with a size limit that
//! holds while reading (a pipe or a device such as `/dev/zero` tells no size and may never
//! end).

use anyhow::{Context, Result, bail};
use hsmjwt::core::validation::DEFAULT_MAX_TOKEN_SIZE;

/// Largest token read from stdin or a file: the decoder's default limit (64 KiB) and 4 KiB
/// of room for whitespace or a prefix around it.
pub(crate) const MAX_TOKEN_INPUT: u64 = DEFAULT_MAX_TOKEN_SIZE as u64 + 4096;

/// Largest JSON text read from a file or stdin (`--claims @FILE`, `--claims -`): 1 MiB.
pub(crate) const MAX_JSON_INPUT: u64 = 1 << 20;

/// Reads `reader` (named `name` in messages) to its end as UTF-8 text of at most `limit`
/// bytes; `what` says what it is, in the plural, for the message when it is larger.
pub(crate) fn read_text(
    reader: impl std::io::Read,
    name: &str,
    limit: u64,
    what: &'static str,
) -> Result<String> {
    let bytes = hsmjwt::soft::file::read_limited(reader, name, limit, what)?;
    let text = std::str::from_utf8(&bytes).with_context(|| format!("{name} is not UTF-8"))?;
    Ok(text.to_owned())
}

/// The token from the argument, or from stdin when absent or `-`, without surrounding
/// whitespace.
pub(crate) fn token(arg: Option<&str>) -> Result<String> {
    let raw = match arg {
        Some("-") | None => read_text(std::io::stdin().lock(), "stdin", MAX_TOKEN_INPUT, "tokens")?,
        Some(t) => t.to_owned(),
    };
    let token = raw.trim_matches(|c: char| c.is_ascii_whitespace());
    if token.is_empty() {
        bail!("no token given (pass it as an argument or on stdin)");
    }
    Ok(token.to_owned())
}

/// The token to inspect (`decode`): as [`token`] takes it, or read from `@FILE` (with the
/// same bound), and as people copy it from HTTP: an `Authorization:` or `AD-Service-Token:`
/// header name and a `Bearer` scheme in front of it are taken off.
pub(crate) fn token_to_inspect(arg: Option<&str>) -> Result<String> {
    let raw = match arg.and_then(|a| a.strip_prefix('@')) {
        Some(path) => {
            let file = std::fs::File::open(path)
                .with_context(|| format!("cannot open token file {path}"))?;
            read_text(file, path, MAX_TOKEN_INPUT, "tokens")?
        }
        None => token(arg)?,
    };
    let mut rest = raw.trim_matches(|c: char| c.is_ascii_whitespace());
    for prefix in ["Authorization:", "AD-Service-Token:", "Bearer "] {
        if let Some(head) = rest.get(..prefix.len())
            && head.eq_ignore_ascii_case(prefix)
        {
            rest = rest[prefix.len()..].trim_start_matches(|c: char| c.is_ascii_whitespace());
        }
    }
    if rest.is_empty() {
        bail!("no token given (pass it as an argument, as @FILE or on stdin)");
    }
    Ok(rest.to_owned())
}

/// A JSON text from an inline value, `@FILE`, or `-` for stdin; `what` names it in the
/// plural ("claims").
pub(crate) fn json_arg(arg: &str, what: &'static str) -> Result<String> {
    if arg == "-" {
        read_text(std::io::stdin().lock(), "stdin", MAX_JSON_INPUT, what)
    } else if let Some(path) = arg.strip_prefix('@') {
        let file =
            std::fs::File::open(path).with_context(|| format!("cannot open {what} file {path}"))?;
        read_text(file, path, MAX_JSON_INPUT, what)
    } else {
        Ok(arg.to_owned())
    }
}

/// Parses `NAME=JSON`.
pub(crate) fn name_json(arg: &str, flag: &str) -> Result<(String, serde_json::Value)> {
    let Some((name, value)) = arg.split_once('=') else {
        bail!("{flag} `{arg}` is not NAME=JSON");
    };
    if name.is_empty() {
        bail!("{flag} `{arg}` has an empty name");
    }
    let value = serde_json::from_str(value).with_context(|| {
        format!("{flag} {name}: value is not JSON (quote strings: {name}='\"text\"')")
    })?;
    Ok((name.to_owned(), value))
}
