//! Inspection: what a compact JWS holds, shown as it is, with everything the strict decoder
//! refuses listed.

use std::collections::HashSet;
use std::fmt;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::Map;
use serde_json::value::RawValue;

use crate::b64;
use crate::claims::Claims;
use crate::error::{Error, Part};
use crate::header::Header;
use crate::json;
use crate::member::{self, Members};
use crate::text::Chain;
use crate::validation::DEFAULT_MAX_TOKEN_SIZE;

/// What a compact JWS holds, as the token has it, and what the strict decoder refuses in
/// it: see [`inspect`]. Nothing in it is verified.
#[derive(Debug)]
#[non_exhaustive]
pub struct Inspection {
    /// The header's JSON text as the token has it (a JSON object; bytes that are not UTF-8
    /// are shown as U+FFFD): duplicate members, numbers and unknown members as written.
    pub header: Box<RawValue>,
    /// The payload's JSON text as the token has it, when the payload is JSON (normally the
    /// claims, a JSON object).
    pub claims: Option<Box<RawValue>>,
    /// The payload's bytes, when the payload is base64 at all.
    pub payload: Option<Vec<u8>>,
    /// The signature's length in bytes, when the signature is base64 at all.
    pub signature_len: Option<usize>,
    /// Everything the strict decoder ([`crate::decode_insecure`]) refuses in this token, in
    /// the order of the parts; empty when it accepts the token.
    pub problems: Vec<Problem>,
}

/// One thing in a token that the strict decoder refuses, found by [`inspect`]: the error
/// the strict decoder's rule gives for it.
#[derive(Debug)]
pub struct Problem(Error);

impl Problem {
    /// The error of the rule the token breaks.
    pub fn error(&self) -> &Error {
        &self.0
    }

    /// The error, taken out.
    pub fn into_error(self) -> Error {
        self.0
    }
}

/// The error and its causes, on one line, untrusted text escaped ([`Chain`]).
impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Chain(&self.0).fmt(f)
    }
}

/// `{"verified": false, "header": …, "claims": …, "signature_len": …, "problems": […]}`:
/// header and claims as the token has them (numbers as written, through `RawValue`), the
/// problems as one-line strings; `"payload"` (the bytes as text, U+FFFD for what is not
/// UTF-8) only when the payload is not JSON. Print it with [`crate::text::pretty_json`],
/// which escapes what a terminal would act on.
impl Serialize for Inspection {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("verified", &false)?;
        m.serialize_entry("header", &self.header)?;
        m.serialize_entry("claims", &self.claims)?;
        if self.claims.is_none()
            && let Some(payload) = &self.payload
        {
            m.serialize_entry("payload", &String::from_utf8_lossy(payload))?;
        }
        m.serialize_entry("signature_len", &self.signature_len)?;
        let problems: Vec<String> = self.problems.iter().map(Problem::to_string).collect();
        m.serialize_entry("problems", &problems)?;
        m.end()
    }
}

/// Looks at a compact JWS **without verifying anything**, for people who need to see a
/// token as it is, hostile ones included: the header and the payload are decoded leniently
/// (padding, `+` and `/`, non-zero trailing bits and whitespace in the base64; duplicate
/// members, `alg: none` or HMAC, `b64: false`, claims of the wrong type, numbers out of
/// range in the JSON) and kept as their JSON text, and everything the strict decoder
/// ([`crate::decode_insecure`]) refuses is listed in [`Inspection::problems`], found by
/// the strict decoder's own rules: a token it accepts has no problems, and for a token it
/// refuses, its error is among them.
///
/// ```
/// // {"alg":"none"} . {"exp":12345678901234567890,"exp":"soon"} . (no signature)
/// let token = "eyJhbGciOiJub25lIn0.\
///              eyJleHAiOjEyMzQ1Njc4OTAxMjM0NTY3ODkwLCJleHAiOiJzb29uIn0.";
/// let seen = hsmjwt_core::jws::inspect(token)?;
/// assert_eq!(seen.header.get(), r#"{"alg":"none"}"#);
/// assert_eq!(seen.claims.unwrap().get(), r#"{"exp":12345678901234567890,"exp":"soon"}"#);
/// let problems: Vec<String> = seen.problems.iter().map(|p| p.to_string()).collect();
/// assert!(problems[0].starts_with("unsupported algorithm `none`"));
/// assert_eq!(
///     problems[1..],
///     ["payload has a duplicate member `exp`", "claim `exp` must be a number (NumericDate)"]
/// );
/// # Ok::<(), hsmjwt_core::Error>(())
/// ```
///
/// # Errors
/// Only for input that is not a JWS at all: [`Error::Jwe`] for five parts (an encrypted
/// token), [`Error::WrongPartCount`] for any other number but three, and the strict
/// decoder's error for a header that is not base64 even leniently or not a JSON object.
pub fn inspect(token: &str) -> Result<Inspection, Error> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(match token.split('.').count() {
            5 => Error::Jwe,
            parts => Error::WrongPartCount { parts },
        });
    };
    let mut problems = Vec::new();
    if token.len() > DEFAULT_MAX_TOKEN_SIZE {
        problems.push(Error::TokenTooLarge {
            size: token.len(),
            limit: DEFAULT_MAX_TOKEN_SIZE,
        });
    }
    let header_bytes = decode_part(Part::Header, h, &mut problems)?;
    let header = json_text(&header_bytes).ok_or_else(|| not_a_header(&header_bytes))?;
    if !header.get().starts_with('{') {
        return Err(Error::NotAnObject { what: "header" });
    }
    part_problems::<Header>(&header_bytes, &header, "header", &mut problems);
    let payload = decode_part(Part::Payload, p, &mut problems)
        .map_err(|e| problems.push(e))
        .ok();
    let claims = payload.as_deref().and_then(|payload| {
        let claims = json_text(payload);
        match &claims {
            Some(text) => part_problems::<Claims>(payload, text, "payload", &mut problems),
            None => problems.extend(Claims::from_json(payload).err()),
        }
        claims
    });
    let signature_len = decode_part(Part::Signature, s, &mut problems)
        .map_err(|e| problems.push(e))
        .ok()
        .map(|signature| signature.len());
    Ok(Inspection {
        header,
        claims,
        payload,
        signature_len,
        problems: problems.into_iter().map(Problem).collect(),
    })
}

/// A part's bytes: canonical base64url as the strict decoder reads it, or else (the
/// strict decoder's error pushed to `problems`) as a lenient decoder reads it. The strict
/// decoder's error when it is not base64 even leniently.
fn decode_part(part: Part, text: &str, problems: &mut Vec<Error>) -> Result<Vec<u8>, Error> {
    match b64::decode(text.as_bytes()) {
        Ok(bytes) => Ok(bytes),
        Err(strict) => {
            let bytes = b64::decode_lenient(text.as_bytes());
            let strict = Error::base64(part)(strict);
            match bytes {
                Ok(bytes) => {
                    problems.push(strict);
                    Ok(bytes)
                }
                Err(_) => Err(strict),
            }
        }
    }
}

/// `bytes` as one JSON text, when they are JSON (bytes that are not UTF-8 shown as
/// U+FFFD). Numbers are not read, so none is out of range, and member names may repeat.
fn json_text(bytes: &[u8]) -> Option<Box<RawValue>> {
    serde_json::from_str(&String::from_utf8_lossy(bytes)).ok()
}

/// Why a header that is not JSON even leniently is refused: the strict decoder's error.
fn not_a_header(bytes: &[u8]) -> Error {
    match Header::from_json(bytes) {
        Err(strict) => strict,
        // The strict parser accepts no less than the lenient one; should they ever disagree,
        // the header is still refused.
        Ok(_) => Error::NotAnObject { what: "header" },
    }
}

/// Pushes to `problems` every fault of the header or claims (`T`) in `bytes`, whose JSON
/// text is `text`, by the strict parser's rules: nothing when [`member::from_json`]
/// accepts the bytes; else its error, then, without repeating it, each member name that
/// repeats, the first repeated name inside each member's value, and the faults of
/// [`member::problems`] (checked on the last of repeated members, as a lenient parser would
/// take it).
fn part_problems<T: Members>(
    bytes: &[u8],
    text: &RawValue,
    what: &'static str,
    problems: &mut Vec<Error>,
) {
    let Err(strict) = member::from_json::<T>(bytes, what) else {
        return;
    };
    let mut found = vec![strict];
    if let Ok(TopLevel(members)) = serde_json::from_str::<TopLevel<'_>>(text.get()) {
        let mut names = HashSet::new();
        let mut map = Map::new();
        for (name, value) in members {
            if !names.insert(name.clone()) {
                found.push(Error::DuplicateMember {
                    what,
                    name: name.clone(),
                });
            }
            match json::parse_value(value.get().as_bytes(), what) {
                Ok(value) => {
                    map.insert(name, value);
                }
                Err(e @ Error::DuplicateMember { .. }) => found.push(e),
                // A number out of range: the strict parser's error above names the first.
                Err(_) => {
                    map.shift_remove(&name);
                }
            }
        }
        found.extend(member::problems::<T>(&map));
    }
    let mut shown = HashSet::new();
    problems.extend(found.into_iter().filter(|e| shown.insert(e.to_string())));
}

/// The members of a JSON object in order, repeated names included, each value as its JSON
/// text.
struct TopLevel<'a>(Vec<(String, &'a RawValue)>);

impl<'de> serde::Deserialize<'de> for TopLevel<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        /// Collects the members.
        struct Members;

        impl<'de> serde::de::Visitor<'de> for Members {
            type Value = TopLevel<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<TopLevel<'de>, A::Error> {
                let mut members = Vec::new();
                while let Some(name) = map.next_key::<String>()? {
                    members.push((name, map.next_value::<&'de RawValue>()?));
                }
                Ok(TopLevel(members))
            }
        }

        d.deserialize_map(Members)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(header: &str, payload: &str, signature: &[u8]) -> String {
        format!(
            "{}.{}.{}",
            b64::encode(header.as_bytes()),
            b64::encode(payload.as_bytes()),
            b64::encode(signature)
        )
    }

    fn problems(token: &str) -> Vec<String> {
        inspect(token)
            .unwrap()
            .problems
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    /// A token the strict decoder accepts has no problems, and is shown as it is.
    #[test]
    fn a_good_token_has_no_problems() {
        let t = token(
            r#"{"alg":"ES256","kid":"k","typ":"JWT"}"#,
            r#"{"iss":"me","exp":1700000000,"n":0.1000000000000000000000000001}"#,
            &[7; 64],
        );
        assert!(crate::decode_insecure(&t).is_ok());
        let seen = inspect(&t).unwrap();
        assert!(seen.problems.is_empty(), "{:?}", seen.problems);
        assert_eq!(
            seen.header.get(),
            r#"{"alg":"ES256","kid":"k","typ":"JWT"}"#
        );
        assert_eq!(
            seen.claims.as_deref().map(RawValue::get),
            Some(r#"{"iss":"me","exp":1700000000,"n":0.1000000000000000000000000001}"#)
        );
        assert_eq!(seen.signature_len, Some(64));
    }

    /// Each hostile shape the strict decoder refuses is shown, with the strict decoder's
    /// error among the problems.
    #[test]
    fn hostile_tokens_are_shown_with_their_problems() {
        let sig = [1u8; 64];
        let cases: &[(String, &[&str])] = &[
            (
                token(r#"{"alg":"none"}"#, r#"{"sub":"x"}"#, &[]),
                &[
                    "unsupported algorithm `none` (supported: RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA)",
                ],
            ),
            (
                token(r#"{"alg":"HS256"}"#, "{}", &sig),
                &[
                    "unsupported algorithm `HS256` (supported: RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA)",
                ],
            ),
            (
                token(r#"{"alg":"RS256","b64":false,"crit":["b64"]}"#, "{}", &sig),
                &["header member `b64` is false (unencoded payloads, RFC 7797, are not supported)"],
            ),
            (
                token(
                    r#"{"alg":"RS256"}"#,
                    r#"{"exp":"soon","aud":5,"iat":1}"#,
                    &sig,
                ),
                &[
                    "claim `aud` must be a string or an array of strings",
                    "claim `exp` must be a number (NumericDate)",
                ],
            ),
            (
                token(
                    r#"{"alg":"RS256","kid":"a","kid":"b"}"#,
                    r#"{"x":{"y":1,"y":2},"z":[{"w":1,"w":1}],"x":3}"#,
                    &sig,
                ),
                &[
                    "header has a duplicate member `kid`",
                    "payload has a duplicate member `y`",
                    "payload has a duplicate member `w`",
                    "payload has a duplicate member `x`",
                ],
            ),
            (
                token(
                    r#"{"alg":"none","kid":5,"crit":["kid","q","q"],"b64":"no"}"#,
                    "{}",
                    &sig,
                ),
                &[
                    "unsupported algorithm `none` (supported: RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA)",
                    "header member `kid` must be a string",
                    "header member `crit` must not list registered member `kid`",
                    "header member `crit` lists `q`, which is not in the header",
                    "header member `crit` lists `q` twice",
                    "header member `b64` must be a boolean",
                ],
            ),
            (
                token(
                    r#"{"alg":"RS256"}"#,
                    r#"{"exp":12345678901234567890,"n":1e400,"f":0.1000000000000000000000000001}"#,
                    &sig,
                ),
                &[
                    "payload is not valid JSON: number out of range at line 1 column 37",
                    "claim `exp` is out of range",
                ],
            ),
        ];
        for (t, expected) in cases {
            let strict = crate::decode_insecure(t).unwrap_err().to_string();
            let found = problems(t);
            assert_eq!(found, *expected, "{t}");
            assert!(
                found.iter().any(|p| p.starts_with(&strict)),
                "{strict} not in {found:?}"
            );
        }
    }

    #[test]
    fn numbers_and_members_are_kept_as_written() {
        let payload = r#"{"exp":12345678901234567890,"n":1e400,"f":0.1000000000000000000000000001,"d":1,"d":2}"#;
        let seen = inspect(&token(r#"{"alg":"RS256"}"#, payload, &[])).unwrap();
        assert_eq!(seen.claims.as_deref().map(RawValue::get), Some(payload));
        let shown = crate::text::pretty_json(&seen).unwrap();
        for part in [
            r#""exp": 12345678901234567890,"#,
            r#""n": 1e400,"#,
            r#""f": 0.1000000000000000000000000001,"#,
            r#""d": 1,"#,
            r#""d": 2"#,
            r#""verified": false"#,
            r#""signature_len": 0"#,
        ] {
            assert!(shown.contains(part), "{part} not in {shown}");
        }
    }

    /// Padding, `+` and `/`, non-zero trailing bits and whitespace are read, and named.
    #[test]
    fn non_canonical_base64_is_read_and_named() {
        let good = token(
            r#"{"alg":"RS256","kid":"??>"}"#,
            r#"{"a":"~~~"}"#,
            &[0xfb; 5],
        );
        let parts: Vec<&str> = good.split('.').collect();
        let std_alphabet = |s: &str| s.replace('-', "+").replace('_', "/");
        // `/` in the header, `+` and padding in the payload, a last character with unused
        // bits set in the signature.
        let bad = format!(
            "{}.{}=.{}B",
            std_alphabet(parts[0]),
            std_alphabet(parts[1]),
            &parts[2][..parts[2].len() - 1]
        );
        assert!(bad.contains('/') && bad.contains("+In0=."), "{bad}");
        let seen = inspect(&bad).unwrap();
        assert_eq!(seen.header.get(), r#"{"alg":"RS256","kid":"??>"}"#);
        assert_eq!(
            seen.claims.as_deref().map(RawValue::get),
            Some(r#"{"a":"~~~"}"#)
        );
        assert_eq!(seen.signature_len, Some(5));
        let found: Vec<String> = seen.problems.iter().map(ToString::to_string).collect();
        assert_eq!(found.len(), 3, "{found:?}");
        for (problem, part) in found.iter().zip(["header", "payload", "signature"]) {
            assert!(
                problem.starts_with(&format!(
                    "{part} is not canonical base64url without padding: "
                )),
                "{problem}"
            );
        }
    }

    /// Only what is not a JWS at all is an error.
    #[test]
    fn not_a_jws_is_an_error() {
        assert_eq!(
            inspect("a.b.c.d.e").unwrap_err().to_string(),
            "this is a JWE (5 parts), not a JWS: it is encrypted and cannot be shown"
        );
        for (input, error) in [
            (
                "garbage",
                "token is not a compact JWS: expected 3 dot-separated parts, found 1",
            ),
            (
                "a.b",
                "token is not a compact JWS: expected 3 dot-separated parts, found 2",
            ),
            ("a.b.c", "header is not canonical base64url without padding"),
            ("..", "header is not valid JSON"),
            ("W10.e30.", "header is not a JSON object"),
            (
                "\u{1F600}.x.y",
                "header is not canonical base64url without padding",
            ),
        ] {
            let err = inspect(input).unwrap_err();
            assert_eq!(err.to_string(), error, "{input}");
            assert!(crate::decode_insecure(input).is_err());
        }
    }

    /// A payload that is not JSON, or not base64, and a signature that is not base64 are
    /// shown as far as they go.
    #[test]
    fn broken_payloads_and_signatures_are_problems() {
        let h = b64::encode(br#"{"alg":"ES256"}"#);
        let seen = inspect(&format!("{h}.{}.!!", b64::encode(b"\x01not json"))).unwrap();
        assert!(seen.claims.is_none());
        assert_eq!(seen.payload.as_deref(), Some(&b"\x01not json"[..]));
        assert_eq!(seen.signature_len, None);
        let found: Vec<String> = seen.problems.iter().map(ToString::to_string).collect();
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].starts_with("payload is not valid JSON: "));
        assert!(found[1].starts_with("signature is not canonical base64url without padding: "));
        let shown = crate::text::pretty_json(&seen).unwrap();
        assert!(shown.contains(r#""payload": "\u0001not json""#), "{shown}");

        let seen = inspect(&format!("{h}.A.")).unwrap();
        assert_eq!((seen.payload, seen.claims.is_none()), (None, true));
        assert_eq!(seen.problems.len(), 1);

        let seen = inspect(&format!("{h}.{}.", b64::encode(b"[1]"))).unwrap();
        assert_eq!(seen.claims.as_deref().map(RawValue::get), Some("[1]"));
        assert_eq!(seen.problems[0].to_string(), "payload is not a JSON object");
    }

    /// Untrusted text in a problem is escaped, so a problem is one line.
    #[test]
    fn problems_are_one_line() {
        let t = token(
            "{\"alg\":\"\\n\\u001b]0;x\\u0007\",\"crit\":[\"\\r\\n\"],\"\\n\":1,\"\\n\":2}",
            "{}",
            &[],
        );
        for problem in problems(&t) {
            assert!(
                !problem.contains(['\n', '\r', '\u{1b}', '\u{7}']),
                "{problem:?}"
            );
        }
    }

    #[test]
    fn a_large_token_is_shown_and_named() {
        let t = token(
            r#"{"alg":"RS256"}"#,
            &format!(r#"{{"x":"{}"}}"#, "y".repeat(70_000)),
            &[],
        );
        assert_eq!(
            problems(&t),
            [format!(
                "token is {} bytes, more than the limit of 65536 bytes",
                t.len()
            )]
        );
    }
}
