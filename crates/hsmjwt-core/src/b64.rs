//! Canonical unpadded base64url (RFC 7515 section 2).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Encodes bytes as unpadded base64url.
pub fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes canonical unpadded base64url: padding, whitespace, the standard alphabet's
/// `+` and `/`, and a last character with non-zero unused bits are all errors.
///
/// # Errors
/// Returns the decoder's error for any non-canonical input.
pub fn decode(input: &[u8]) -> Result<Vec<u8>, base64::DecodeError> {
    // The URL_SAFE_NO_PAD engine rejects padding and non-zero trailing bits.
    URL_SAFE_NO_PAD.decode(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict() {
        assert_eq!(decode(b"AQAB").ok(), Some(vec![1, 0, 1]));
        assert_eq!(decode(b"_-8").ok(), Some(vec![0xff, 0xef]));
        for bad in [
            &b"AQ=="[..],
            b"AQ",
            b"AR",
            b"+/8",
            b"AQ AB",
            b"AQ\nAB",
            b"A",
        ] {
            if bad == b"AQ" {
                assert!(decode(bad).is_ok());
                continue;
            }
            assert!(decode(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }
}
