//! Reading tokens and JSON from arguments, files and stdin.

use std::io::Read;

use anyhow::{Context, Result, bail};

/// Largest input read from stdin or a file: tokens are limited to 64 KiB by default, so a
/// few MiB is more than any honest input.
const MAX_INPUT: u64 = 4 * 1024 * 1024;

fn read_limited(mut reader: impl Read, what: &str) -> Result<String> {
    let mut buf = String::new();
    reader
        .by_ref()
        .take(MAX_INPUT + 1)
        .read_to_string(&mut buf)
        .with_context(|| format!("cannot read {what}"))?;
    if buf.len() as u64 > MAX_INPUT {
        bail!("{what} is larger than {MAX_INPUT} bytes");
    }
    Ok(buf)
}

/// The token from the argument, or from stdin when absent or `-`, without surrounding
/// whitespace.
pub(crate) fn token(arg: Option<&str>) -> Result<String> {
    let raw = match arg {
        Some("-") | None => read_limited(std::io::stdin().lock(), "token from stdin")?,
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
    let raw = match arg {
        Some(file) if file.starts_with('@') => json_arg(file, "token")?,
        other => token(other)?,
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

/// A JSON text from an inline value, `@FILE`, or `-` for stdin.
pub(crate) fn json_arg(arg: &str, what: &str) -> Result<String> {
    if arg == "-" {
        read_limited(std::io::stdin().lock(), &format!("{what} from stdin"))
    } else if let Some(path) = arg.strip_prefix('@') {
        let file =
            std::fs::File::open(path).with_context(|| format!("cannot open {what} file {path}"))?;
        read_limited(file, &format!("{what} file {path}"))
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
