//! Text from outside the process, made safe to print.
//!
//! A forged token, a file or a server can put newlines, terminal escape sequences or
//! bidirectional-override characters into any value an error message repeats (a `kid`, an
//! `alg`, a member name, an `error_description`). Printed raw, they fake `error:` lines,
//! retitle the terminal or reorder what the reader sees. Every such value goes through
//! [`clean`] (or [`Untrusted`]) before it is part of a message: one line, escapes instead of
//! control characters, and a bounded length. A message that quotes such values (a reason
//! built with `format!`, an error's causes) goes through [`UntrustedMessage`] or [`Chain`];
//! JSON that holds them is printed with [`pretty_json`], which escapes them as `\uXXXX`.

use std::fmt;

/// The longest untrusted value [`Untrusted`] shows, in characters.
pub const DEFAULT_MAX_CHARS: usize = 200;

/// The longest message [`UntrustedMessage`] (and each message of a [`Chain`]) shows, in
/// characters: room for our own words and a few values, each cut to [`DEFAULT_MAX_CHARS`].
pub const MESSAGE_MAX_CHARS: usize = 1000;

/// Whether `c` must not reach a terminal as it is: C0 and C1 control characters (newlines,
/// escape, NUL, ...), DEL, the Unicode line and paragraph separators, and the bidirectional
/// formatting characters.
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}' | '\u{061c}' | '\u{feff}'
        )
}

/// Writes `s` with every unsafe character escaped (`\n`, `\r`, `\t`, `\u{1b}`), at most
/// `max_chars` characters of it, then `…` if it was longer.
fn write_clean(out: &mut impl fmt::Write, s: &str, max_chars: usize) -> fmt::Result {
    for (i, c) in s.chars().enumerate() {
        if i == max_chars {
            return out.write_char('…');
        }
        if is_unsafe(c) {
            for e in c.escape_default() {
                out.write_char(e)?;
            }
        } else {
            out.write_char(c)?;
        }
    }
    Ok(())
}

/// `s` made safe to print on one line: control, line-separator and bidi characters escaped
/// (`\n`, `\u{1b}`), cut to `max_chars` characters (then `…`).
pub fn clean(s: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max_chars.saturating_mul(4)));
    // Writing to a String cannot fail.
    let _ = write_clean(&mut out, s, max_chars);
    out
}

/// Displays an untrusted value as [`clean`] does, cut to [`DEFAULT_MAX_CHARS`].
///
/// ```
/// use hsmjwt_core::text::Untrusted;
/// assert_eq!(
///     format!("kid `{}`", Untrusted("a\nerror: fake\u{1b}]0;x")),
///     "kid `a\\nerror: fake\\u{1b}]0;x`"
/// );
/// ```
#[derive(Clone, Copy)]
pub struct Untrusted<'a>(pub &'a str);

impl fmt::Display for Untrusted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_clean(f, self.0, DEFAULT_MAX_CHARS)
    }
}

impl fmt::Debug for Untrusted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

/// Displays a message that may quote untrusted values (a reason composed with `format!`, a
/// cause from another library) as [`clean`] does, cut to [`MESSAGE_MAX_CHARS`].
///
/// ```
/// use hsmjwt_core::text::{Untrusted, UntrustedMessage};
/// let reason = format!("lists `{}`, which is not in the header", Untrusted("x\ny"));
/// assert_eq!(
///     UntrustedMessage(&reason).to_string(),
///     "lists `x\\ny`, which is not in the header"
/// );
/// ```
#[derive(Clone, Copy)]
pub struct UntrustedMessage<'a>(pub &'a str);

impl fmt::Display for UntrustedMessage<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_clean(f, self.0, MESSAGE_MAX_CHARS)
    }
}

impl fmt::Debug for UntrustedMessage<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

/// Displays an error and its causes on one line, `: ` between them (as `anyhow` shows an
/// error with `{:#}`), each message cleaned and cut as [`UntrustedMessage`] does: whatever
/// a cause from another library repeats, the line stays one line.
///
/// ```
/// use hsmjwt_core::text::Chain;
/// let err = hsmjwt_core::decode_insecure("e30=.e30.").unwrap_err();
/// assert_eq!(
///     Chain(&err).to_string(),
///     "header is not canonical base64url without padding: it ends in padding (`=`)"
/// );
/// ```
#[derive(Clone, Copy)]
pub struct Chain<'a>(pub &'a (dyn std::error::Error + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut next = Some(self.0);
        let mut first = true;
        while let Some(err) = next {
            if !first {
                f.write_str(": ")?;
            }
            first = false;
            write_clean(f, &err.to_string(), MESSAGE_MAX_CHARS)?;
            next = err.source();
        }
        Ok(())
    }
}

impl fmt::Debug for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

/// Writes `c` as JSON escapes (`\u001b`, and a surrogate pair beyond the BMP).
fn write_json_escape(out: &mut String, c: char) {
    let mut units = [0u16; 2];
    for unit in c.encode_utf16(&mut units) {
        out.push_str(&format!("\\u{unit:04x}"));
    }
}

/// `value` as indented JSON (two spaces, as `serde_json::to_string_pretty` writes it), safe
/// to print: every character [`clean`] would escape is written as a JSON escape
/// (`\u001b`, `\u202e`) even where JSON allows it raw, so the text means the same to a JSON
/// parser and holds no control, line-separator or bidi character. Numbers are written as
/// the value has them: a [`serde_json::value::RawValue`] inside `value` keeps its text
/// (`12345678901234567890`, `1e400`, `0.1000000000000000000000000001`), where a
/// `serde_json::Value` would have rounded them.
///
/// # Errors
/// Whatever `serde_json` refuses to serialise (a map with non-string keys, say).
pub fn pretty_json<T: serde::Serialize + ?Sized>(value: &T) -> Result<String, serde_json::Error> {
    let compact = serde_json::to_string(value)?;
    Ok(reindent(&compact))
}

/// Indents one JSON text as [`pretty_json`] describes, without reading a number (so none is
/// rounded) and keeping members as they are (duplicates included). Whitespace outside
/// strings is replaced; anything that is not JSON comes out escaped, never raw.
fn reindent(json: &str) -> String {
    fn newline(out: &mut String, depth: usize) {
        out.push('\n');
        for _ in 0..depth {
            out.push_str("  ");
        }
    }
    let mut out = String::with_capacity(json.len() + json.len() / 2);
    let mut depth = 0usize;
    let mut chars = json.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                out.push('"');
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            out.push('\\');
                            match chars.next() {
                                Some(e) if !is_unsafe(e) => out.push(e),
                                Some(e) => write_json_escape(&mut out, e),
                                None => {}
                            }
                        }
                        '"' => {
                            out.push('"');
                            break;
                        }
                        c if is_unsafe(c) => write_json_escape(&mut out, c),
                        c => out.push(c),
                    }
                }
            }
            '{' | '[' => {
                out.push(c);
                while chars.next_if(|c| c.is_ascii_whitespace()).is_some() {}
                let close = if c == '{' { '}' } else { ']' };
                if chars.next_if_eq(&close).is_some() {
                    out.push(close);
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(',');
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c if c.is_ascii_whitespace() => {}
            c if is_unsafe(c) => write_json_escape(&mut out, c),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_a_terminal_would_act_on() {
        assert_eq!(clean("plain text: ok", 100), "plain text: ok");
        assert_eq!(clean("a\nb\r\tc", 100), "a\\nb\\r\\tc");
        assert_eq!(clean("\u{1b}[31mred\u{7}", 100), "\\u{1b}[31mred\\u{7}");
        assert_eq!(clean("nul\0", 100), "nul\\u{0}");
        assert_eq!(clean("c1\u{9b}", 100), "c1\\u{9b}");
        assert_eq!(clean("rtl\u{202e}txt.exe", 100), "rtl\\u{202e}txt.exe");
        assert_eq!(clean("line\u{2028}sep", 100), "line\\u{2028}sep");
        assert_eq!(clean("é ünïcödé 漢字", 100), "é ünïcödé 漢字");
    }

    #[test]
    fn cuts_long_values() {
        assert_eq!(clean("abcdef", 3), "abc…");
        assert_eq!(clean("abc", 3), "abc");
        assert_eq!(clean("", 0), "");
        assert_eq!(clean("x", 0), "…");
        let long = "y".repeat(1000);
        let shown = Untrusted(&long).to_string();
        assert_eq!(shown.chars().count(), DEFAULT_MAX_CHARS + 1);
    }

    #[test]
    fn one_line_whatever_the_input() {
        for s in ["a\nb", "\r\n", "\u{85}", "\u{2029}", "\u{b}\u{c}"] {
            let out = clean(s, 100);
            assert!(!out.chars().any(is_unsafe), "{out:?}");
        }
    }

    #[test]
    fn messages_and_chains_are_one_line() {
        let long = format!("{}\n{}", "m".repeat(600), "n".repeat(600));
        let shown = UntrustedMessage(&long).to_string();
        // 1000 characters of the input, the newline among them written as two, then `…`.
        assert_eq!(shown.chars().count(), MESSAGE_MAX_CHARS + 2);
        assert!(shown.ends_with("n…"), "{shown}");
        assert!(!shown.contains('\n') && shown.contains("\\n"));

        #[derive(Debug)]
        struct Cause;
        impl fmt::Display for Cause {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("cause\nerror: forged\u{1b}]0;x\u{7}")
            }
        }
        impl std::error::Error for Cause {}
        #[derive(Debug)]
        struct Outer(Cause);
        impl fmt::Display for Outer {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("outer")
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        assert_eq!(
            Chain(&Outer(Cause)).to_string(),
            "outer: cause\\nerror: forged\\u{1b}]0;x\\u{7}"
        );
    }

    #[test]
    fn pretty_json_is_serde_json_pretty_made_safe() {
        let value = serde_json::json!({
            "a": [1, -2.5, {"b": null, "c": []}, {}],
            "e": {"x": true, "y": "z"},
            "s": "tab\t \u{1b}]0;x\u{7} \u{202e}rtl \u{85} \u{2028} \u{7f} é \"q\" \\ /",
            "": "",
        });
        let shown = pretty_json(&value).unwrap();
        assert!(!shown.chars().any(|c| is_unsafe(c) && c != '\n'), "{shown}");
        // The same JSON value, and the same layout where serde_json's is already safe.
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&shown).unwrap(),
            value
        );
        let mut safe = value.clone();
        safe["s"] = "plain".into();
        assert_eq!(
            pretty_json(&safe).unwrap(),
            serde_json::to_string_pretty(&safe).unwrap()
        );
        assert!(
            shown.contains(
                r#""s": "tab\t \u001b]0;x\u0007 \u202ertl \u0085 \u2028 \u007f é \"q\" \\ /","#
            ),
            "{shown}"
        );
    }

    #[test]
    fn pretty_json_keeps_numbers_and_members_as_written() {
        let raw = r#" { "exp" : 12345678901234567890, "n" :1e400,"f":0.100000000000000000000000000001,
            "d":1,"d":[ ],"o":{ } } "#;
        let raw: &serde_json::value::RawValue = serde_json::from_str(raw).unwrap();
        assert_eq!(
            pretty_json(raw).unwrap(),
            "{\n  \"exp\": 12345678901234567890,\n  \"n\": 1e400,\n  \"f\": 0.100000000000000000000000000001,\n  \"d\": 1,\n  \"d\": [],\n  \"o\": {}\n}"
        );
        // Not JSON: nothing unsafe comes out raw either.
        for bad in ["\u{1b}]0;x\u{7}", "\"open \u{1b}", "[\"\\\u{1b}\"]", "}}]]"] {
            let shown = reindent(bad);
            assert!(
                !shown.chars().any(|c| is_unsafe(c) && c != '\n'),
                "{shown:?}"
            );
        }
    }
}
