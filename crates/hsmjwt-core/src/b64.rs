//! Canonical unpadded base64url (RFC 7515 section 2).
//!
//! The work is done by `base64-simd` (vectorised where the CPU allows, checked at run
//! time), which is as strict as RFC 7515 asks: no padding, no whitespace, no `+` or `/`,
//! no non-zero unused bits in the last character. Its error carries no detail, so on a
//! failure the input is decoded again by the `base64` crate, whose error says what and
//! where; both reject exactly the same inputs (tested here and fuzzed by the `b64` target
//! of `fuzz/`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64_simd::URL_SAFE_NO_PAD as SIMD;

/// Encodes bytes as unpadded base64url.
pub fn encode(bytes: &[u8]) -> String {
    SIMD.encode_to_string(bytes)
}

/// Appends the unpadded base64url encoding of `bytes` to `out`.
pub fn encode_into(bytes: &[u8], out: &mut String) {
    SIMD.encode_append(bytes, out);
}

/// Why input is not canonical unpadded base64url: the byte and its offset, or the length.
///
/// Its own type, so that the `base64` crate (which finds the detail) is not part of this
/// crate's API. Compared by what it says: the same error for the same input whichever
/// function of this module refused it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(base64::DecodeError);

impl DecodeError {
    /// The offset in the input of the byte at fault, when one byte is (not for a length
    /// that cannot be base64, or padding).
    #[must_use]
    pub fn offset(&self) -> Option<usize> {
        match self.0 {
            base64::DecodeError::InvalidByte(offset, _)
            | base64::DecodeError::InvalidLastSymbol(offset, _) => Some(offset),
            base64::DecodeError::InvalidLength(_) | base64::DecodeError::InvalidPadding => None,
        }
    }
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            base64::DecodeError::InvalidByte(offset, b'=') => {
                write!(f, "padding (`=`) at offset {offset}")
            }
            base64::DecodeError::InvalidByte(offset, byte) => {
                write!(f, "byte 0x{byte:02x} at offset {offset} is not base64url")
            }
            base64::DecodeError::InvalidLength(symbols) => {
                write!(f, "no base64url is {symbols} characters long")
            }
            base64::DecodeError::InvalidLastSymbol(offset, _) => write!(
                f,
                "the last character, at offset {offset}, has unused bits that are not zero"
            ),
            base64::DecodeError::InvalidPadding => f.write_str("it ends in padding (`=`)"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// The error for `input`, which `base64-simd` rejected, with the detail the `base64` crate
/// finds.
fn detailed_error(input: &[u8]) -> DecodeError {
    DecodeError(match URL_SAFE_NO_PAD.decode(input) {
        Err(e) => e,
        // Both decoders reject the same inputs (see the module documentation); should they
        // ever disagree, the input is still refused.
        Ok(_) => base64::DecodeError::InvalidLength(input.len()),
    })
}

/// Decodes canonical unpadded base64url: padding, whitespace, the standard alphabet's
/// `+` and `/`, and a last character with non-zero unused bits are all errors.
///
/// # Errors
/// A [`DecodeError`] for any non-canonical input.
pub fn decode(input: &[u8]) -> Result<Vec<u8>, DecodeError> {
    SIMD.decode_to_vec(input).map_err(|_| detailed_error(input))
}

/// Decodes like [`decode`] into `buf` when the bytes fit there, else into a new vector:
/// short parts (a JWS header) are decoded without an allocation.
///
/// # Errors
/// Exactly the error [`decode`] returns for the same input.
pub fn decode_with_buf<'b>(
    input: &[u8],
    buf: &'b mut [u8],
) -> Result<std::borrow::Cow<'b, [u8]>, DecodeError> {
    if SIMD.estimated_decoded_length(input.len()) <= buf.len() {
        match SIMD.decode(input, base64_simd::Out::from_slice(buf)) {
            Ok(bytes) => Ok(std::borrow::Cow::Borrowed(bytes)),
            Err(_) => Err(detailed_error(input)),
        }
    } else {
        decode(input).map(std::borrow::Cow::Owned)
    }
}

/// Checks that `input` is canonical unpadded base64url, as [`decode`] would, without
/// keeping the bytes (and without allocating).
///
/// # Errors
/// Exactly the error [`decode`] returns for the same input.
pub fn validate(input: &[u8]) -> Result<(), DecodeError> {
    SIMD.check(input).map_err(|_| detailed_error(input))
}

/// Decodes base64 as a lenient decoder would, for showing what a token holds: padding,
/// whitespace, the standard alphabet's `+` and `/`, and non-zero unused bits in the last
/// character are all accepted. Never use it to decide anything: [`decode`] is the rule.
///
/// # Errors
/// When the input is not base64 even so (another character, or one character too many).
pub(crate) fn decode_lenient(input: &[u8]) -> Result<Vec<u8>, DecodeError> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let url_safe: Vec<u8> = input
        .iter()
        .filter(|b| !b.is_ascii_whitespace())
        .map(|&b| match b {
            b'+' => b'-',
            b'/' => b'_',
            b => b,
        })
        .collect();
    LENIENT.decode(url_safe).map_err(DecodeError)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict() {
        for (input, expected) in [
            (&b"AQAB"[..], Some(&[1u8, 0, 1][..])),
            (b"_-8", Some(&[0xff, 0xef][..])),
            (b"AQ", Some(&[1][..])),
            (b"AQ==", None),
            (b"AR", None),
            (b"+/8", None),
            (b"AQ AB", None),
            (b"AQ\nAB", None),
            (b"A", None),
        ] {
            let text = String::from_utf8_lossy(input);
            assert_eq!(decode(input).ok().as_deref(), expected, "{text}");
            agrees(input);
        }
    }

    /// `base64-simd` and the `base64` crate accept and reject the same inputs, with the
    /// same bytes; the error is the `base64` crate's.
    fn agrees(input: &[u8]) {
        let reference = URL_SAFE_NO_PAD.decode(input).map_err(DecodeError);
        assert_eq!(decode(input), reference, "{input:?}");
        assert_eq!(validate(input), reference.clone().map(drop), "{input:?}");
        let mut small = [0u8; 8];
        let mut large = [0u8; 512];
        for buf in [&mut small[..], &mut large[..]] {
            let with_buf = decode_with_buf(input, buf).map(|b| b.into_owned());
            assert_eq!(with_buf, reference, "{input:?}");
        }
    }

    #[test]
    fn both_decoders_agree_on_edge_cases() {
        for input in [
            &b""[..],
            b"A",
            b"AA",
            b"AB",
            b"AAA",
            b"AAB",
            b"AAAA",
            b"AAAA=",
            b"AA==",
            b"AA=A",
            b"====",
            b"AAAAA",
            b"_-_-",
            b"+/+/",
            b"AA\0A",
            b"\xff\xfe",
            "é".as_bytes(),
        ] {
            agrees(input);
        }
        // Every length around the SIMD block sizes, canonical and with one bad byte.
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        for len in 0..200 {
            let good: Vec<u8> = (0..len).map(|i| alphabet[(i * 7 + 3) % 64]).collect();
            agrees(&good);
            for at in [0, len / 2, len.saturating_sub(1)] {
                if at < len {
                    for bad in [b'=', b'+', b'/', b' ', b'.', 0x80] {
                        let mut wrong = good.clone();
                        wrong[at] = bad;
                        agrees(&wrong);
                    }
                }
            }
        }
    }

    #[test]
    fn errors_say_what_and_where() {
        for (input, message, offset) in [
            (&b"AQ=="[..], "it ends in padding (`=`)", None),
            (b"AQ=B", "padding (`=`) at offset 2", Some(2)),
            (b"AQ.B", "byte 0x2e at offset 2 is not base64url", Some(2)),
            (b"+/8", "byte 0x2b at offset 0 is not base64url", Some(0)),
            (b"AQABA", "no base64url is 5 characters long", None),
            (
                b"AR",
                "the last character, at offset 1, has unused bits that are not zero",
                Some(1),
            ),
        ] {
            let e = decode(input).unwrap_err();
            assert_eq!(e.to_string(), message, "{input:?}");
            assert_eq!(e.offset(), offset, "{input:?}");
            assert_eq!(validate(input).unwrap_err(), e);
        }
    }

    #[test]
    fn lenient_decoding_accepts_what_strict_refuses() {
        for (input, expected) in [
            (&b"AQAB"[..], &[1u8, 0, 1][..]),
            (b"AQ==", &[1]),
            (b"AR", &[1]),
            (b"+/8", &[0xfb, 0xff]),
            (b"-_8", &[0xfb, 0xff]),
            (b"AQ AB\n", &[1, 0, 1]),
            (b"", &[]),
        ] {
            assert_eq!(decode_lenient(input).unwrap(), expected, "{input:?}");
        }
        for bad in [&b"A"[..], b"AQ.B", b"A=QB", b"\xff"] {
            assert!(decode_lenient(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn encoders_agree() {
        for len in 0..200 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let expected = URL_SAFE_NO_PAD.encode(&bytes);
            assert_eq!(encode(&bytes), expected);
            let mut out = String::from("x.");
            encode_into(&bytes, &mut out);
            assert_eq!(out, format!("x.{expected}"));
        }
    }

    proptest::proptest! {
        #[test]
        fn decoders_agree_on_any_input(input in proptest::collection::vec(proptest::sample::select(
            b"AQgw_-+/=. \n\x00\xffzZ9".to_vec()), 0..80)) {
            agrees(&input);
        }

        #[test]
        fn decoders_agree_on_any_bytes(input in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..80)) {
            agrees(&input);
        }
    }
}
