//! Canonical unpadded base64url (RFC 7515 section 2).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Encodes bytes as unpadded base64url.
pub fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Appends the unpadded base64url encoding of `bytes` to `out`.
pub fn encode_into(bytes: &[u8], out: &mut String) {
    URL_SAFE_NO_PAD.encode_string(bytes, out);
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

/// Checks that `input` is canonical unpadded base64url, as [`decode`] would, without
/// keeping the bytes (no allocation for inputs of up to 1365 characters, which covers the
/// signatures of RSA keys up to 8192 bits).
///
/// # Errors
/// Exactly the error [`decode`] returns for the same input.
pub fn validate(input: &[u8]) -> Result<(), base64::DecodeError> {
    let mut buf = [0u8; 1024];
    if input.len() <= 1365 {
        match URL_SAFE_NO_PAD.decode_slice(input, &mut buf) {
            Ok(_) => return Ok(()),
            Err(base64::DecodeSliceError::DecodeError(e)) => return Err(e),
            // Cannot happen for this length; let `decode` answer.
            Err(base64::DecodeSliceError::OutputSliceTooSmall) => {}
        }
    }
    decode(input).map(drop)
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
            assert_eq!(validate(bad), decode(bad).map(drop));
        }
    }
}
