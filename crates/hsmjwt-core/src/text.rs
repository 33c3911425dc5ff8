//! Text from outside the process, made safe to print.
//!
//! A forged token, a file or a server can put newlines, terminal escape sequences or
//! bidirectional-override characters into any value an error message repeats (a `kid`, an
//! `alg`, a member name, an `error_description`). Printed raw, they fake `error:` lines,
//! retitle the terminal or reorder what the reader sees. Every such value goes through
//! [`clean`] (or [`Untrusted`]) before it is part of a message: one line, escapes instead of
//! control characters, and a bounded length.

use std::fmt;

/// The longest untrusted value [`Untrusted`] shows, in characters.
pub const DEFAULT_MAX_CHARS: usize = 200;

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
}
