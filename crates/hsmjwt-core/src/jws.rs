//! The JWS compact serialisation (RFC 7515 section 7.1): encoding and strict decoding, and
//! [`inspect`], which shows any JWS as it is and lists what the strict decoder refuses.

mod inspect;

pub use inspect::{Inspection, Problem, inspect};

use crate::b64;
use crate::claims::Claims;
use crate::error::{Error, Part};
use crate::header::Header;
use crate::jwk::PublicKeyParams;
use crate::sign::{Signer, Verifier};
use crate::validation::{DEFAULT_MAX_TOKEN_SIZE, Validation};

/// A decoded token: its header and claims.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    /// The protected header.
    pub header: Header,
    /// The claims.
    pub claims: Claims,
}

/// Signs `claims` under `header` and returns the compact JWS.
///
/// The signer's algorithm replaces `header.alg`; the signer's key id fills `header.kid`
/// when the header has none.
///
/// # Errors
/// [`Error::Sign`] when the signer fails; [`Error::Serialize`] when an extra member cannot be
/// serialised.
pub fn encode(header: &Header, claims: &Claims, signer: &dyn Signer) -> Result<String, Error> {
    // Claims and header JSON share one buffer (claims first, as the checks always ran).
    let mut json = Vec::with_capacity(512);
    serde_json::to_writer(&mut json, claims).map_err(Error::serialize("claims"))?;
    let claims_len = json.len();
    write_header(&mut json, header, signer)?;
    let (payload, header_json) = json.split_at(claims_len);
    sign_parts(header_json, payload, signer)
}

/// Signs an arbitrary payload under `header`; see [`encode`].
///
/// # Errors
/// As [`encode`].
pub fn encode_payload(
    header: &Header,
    payload: &[u8],
    signer: &dyn Signer,
) -> Result<String, Error> {
    let mut header_json = Vec::with_capacity(64);
    write_header(&mut header_json, header, signer)?;
    sign_parts(&header_json, payload, signer)
}

/// Appends the header JSON with the signer's `alg` (and `kid` when the header has none),
/// written straight from the header's fields: no copy of the header, no JSON map.
fn write_header(out: &mut Vec<u8>, header: &Header, signer: &dyn Signer) -> Result<(), Error> {
    let kid = header.kid.as_deref().or_else(|| signer.key_id());
    header
        .write_json_with(out, signer.algorithm(), kid)
        .map_err(Error::serialize("header"))
}

/// The length of the unpadded base64url encoding of `n` bytes.
fn b64_len(n: usize) -> usize {
    n / 3 * 4 + (n % 3 * 4).div_ceil(3)
}

/// The signature length the signer will most likely produce, to size the token at once:
/// the algorithm's fixed length (ECDSA `r || s`, Ed25519), the modulus for RSA (512 bytes
/// when the JWK does not say).
fn signature_len_hint(signer: &dyn Signer) -> usize {
    match (
        signer.algorithm().signature_len(),
        &signer.public_key().params,
    ) {
        (Some(len), _) => len,
        (None, PublicKeyParams::Rsa { n, .. }) => n.len(),
        _ => 512,
    }
}

/// `BASE64URL(header) '.' BASE64URL(payload) '.' BASE64URL(signature)`, in one string
/// allocated once at its final size.
fn sign_parts(header_json: &[u8], payload: &[u8], signer: &dyn Signer) -> Result<String, Error> {
    let capacity = b64_len(header_json.len())
        + 1
        + b64_len(payload.len())
        + 1
        + b64_len(signature_len_hint(signer));
    let mut out = String::with_capacity(capacity);
    b64::encode_into(header_json, &mut out);
    out.push('.');
    b64::encode_into(payload, &mut out);
    let signature = signer.sign(out.as_bytes())?;
    out.push('.');
    b64::encode_into(&signature, &mut out);
    Ok(out)
}

/// A compact JWS split and decoded but not verified.
#[derive(Debug, Clone)]
pub struct UnverifiedToken<'a> {
    /// The parsed header.
    pub header: Header,
    payload: Vec<u8>,
    signing_input: &'a str,
    signature: Vec<u8>,
}

impl<'a> UnverifiedToken<'a> {
    /// Splits and decodes a compact JWS, checking its size, its base64url and its header.
    ///
    /// # Errors
    /// [`Error::TokenTooLarge`], [`Error::WrongPartCount`], [`Error::InvalidBase64`], and
    /// any header error from [`Header::from_json`].
    pub fn parse(token: &'a str, max_size: usize) -> Result<Self, Error> {
        let (header, payload, signature, signing_input) = split_and_decode(token, max_size, true)?;
        Ok(UnverifiedToken {
            header,
            payload,
            signing_input,
            signature,
        })
    }

    /// The raw payload bytes.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// The signing input (`header.payload` as it appeared in the token).
    pub fn signing_input(&self) -> &str {
        self.signing_input
    }

    /// The raw signature bytes.
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// Parses the payload as claims, strictly.
    ///
    /// # Errors
    /// Any error of [`Claims::from_json`].
    pub fn claims(&self) -> Result<Claims, Error> {
        Claims::from_json(&self.payload)
    }

    /// Checks the signature with `key`, whose algorithm must equal the token's `alg`.
    ///
    /// # Errors
    /// [`Error::AlgorithmMismatch`] or [`Error::InvalidSignature`].
    pub fn verify_signature(&self, key: &dyn Verifier) -> Result<(), Error> {
        let expected = key.algorithm();
        if self.header.alg != expected {
            return Err(Error::AlgorithmMismatch {
                expected,
                found: self.header.alg,
            });
        }
        // ECDSA `r || s` and Ed25519 signatures have one exact length (a DER ECDSA
        // signature, or one cut or padded, never reaches the key).
        if expected
            .signature_len()
            .is_some_and(|len| len != self.signature.len())
        {
            return Err(Error::InvalidSignature);
        }
        key.verify(self.signing_input.as_bytes(), &self.signature)
    }
}

/// A split and decoded token: header, payload, signature, signing input.
type Parts<'t> = (Header, Vec<u8>, Vec<u8>, &'t str);

/// The checks of [`UnverifiedToken::parse`], in its order: size, parts, base64url of each
/// part, header. Returns the header, the payload, the signature (empty unless
/// `keep_signature`: it is then only checked) and the signing input.
fn split_and_decode(
    token: &str,
    max_size: usize,
    keep_signature: bool,
) -> Result<Parts<'_>, Error> {
    if token.len() > max_size {
        return Err(Error::TokenTooLarge {
            size: token.len(),
            limit: max_size,
        });
    }
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Error::WrongPartCount {
            parts: token.split('.').count(),
        });
    };
    let dec = |part: Part, s: &str| b64::decode(s.as_bytes()).map_err(Error::base64(part));
    // A header is short (a few dozen bytes, a few hundred with `x5t#S256`): decoded on the
    // stack, longer ones (an `x5c` chain) on the heap.
    let mut buf = [0u8; 384];
    let header_bytes =
        b64::decode_with_buf(h.as_bytes(), &mut buf).map_err(Error::base64(Part::Header))?;
    let payload = dec(Part::Payload, p)?;
    let signature = if keep_signature {
        dec(Part::Signature, s)?
    } else {
        b64::validate(s.as_bytes()).map_err(Error::base64(Part::Signature))?;
        Vec::new()
    };
    let header = Header::from_json(&header_bytes)?;
    Ok((header, payload, signature, &token[..h.len() + 1 + p.len()]))
}

/// Decodes a compact JWS, verifies it with `key` and validates it against `validation`.
///
/// Order: size, structure, header (including `crit`), algorithm, signature, and only then
/// the claims.
///
/// # Errors
/// The first check that fails, as its own [`Error`] variant; a bad signature is the opaque
/// [`Error::InvalidSignature`].
pub fn decode(token: &str, key: &dyn Verifier, validation: &Validation) -> Result<Token, Error> {
    decode_with_keys(token, std::iter::once(key), validation)
}

/// Like [`decode`], with a set of keys: the candidates are the keys for the token's `alg`
/// whose key id equals the token's `kid` (any key for that `alg` when the token or the key
/// has no `kid`); the first whose signature verifies wins.
///
/// # Errors
/// As [`decode`], plus [`Error::NoMatchingKey`] when no key is a candidate. With a single
/// key of another algorithm the error is [`Error::AlgorithmMismatch`].
pub fn decode_with_keys<'k, I>(
    token: &str,
    keys: I,
    validation: &Validation,
) -> Result<Token, Error>
where
    I: IntoIterator<Item = &'k dyn Verifier>,
{
    let unverified = UnverifiedToken::parse(token, validation.max_token_size)?;
    validation.check_crit(&unverified.header)?;
    let keys: Vec<&dyn Verifier> = keys.into_iter().collect();
    let alg = unverified.header.alg;
    let kid = unverified.header.kid.as_deref();
    if let [only] = keys.as_slice()
        && only.algorithm() != alg
    {
        return Err(Error::AlgorithmMismatch {
            expected: only.algorithm(),
            found: alg,
        });
    }
    let by_alg: Vec<&dyn Verifier> = keys.into_iter().filter(|k| k.algorithm() == alg).collect();
    let by_kid: Vec<&dyn Verifier> = match kid {
        Some(kid) if by_alg.iter().any(|k| k.key_id() == Some(kid)) => by_alg
            .iter()
            .copied()
            .filter(|k| k.key_id() == Some(kid))
            .collect(),
        Some(_) => by_alg
            .iter()
            .copied()
            .filter(|k| k.key_id().is_none())
            .collect(),
        None => by_alg,
    };
    if by_kid.is_empty() {
        return Err(Error::NoMatchingKey {
            alg,
            kid: kid.map(str::to_owned),
        });
    }
    let mut last = Error::InvalidSignature;
    let mut verified = false;
    for key in by_kid {
        match unverified.verify_signature(key) {
            Ok(()) => {
                verified = true;
                break;
            }
            Err(e) => last = e,
        }
    }
    if !verified {
        return Err(last);
    }
    let claims = unverified.claims()?;
    validation.validate(&unverified.header, &claims)?;
    Ok(Token {
        header: unverified.header,
        claims,
    })
}

/// Decodes a token **without verifying its signature or validating its claims**, for
/// inspection and debugging only. The structure, base64url, header and claim types are
/// still checked strictly, and the size limit is the default 64 KiB.
///
/// # Errors
/// Any parse error of [`UnverifiedToken::parse`] or [`Claims::from_json`].
pub fn decode_insecure(token: &str) -> Result<Token, Error> {
    // The checks of `UnverifiedToken::parse`, without keeping the signature it never uses.
    let (header, payload, _, _) = split_and_decode(token, DEFAULT_MAX_TOKEN_SIZE, false)?;
    let claims = Claims::from_json(&payload)?;
    Ok(Token { header, claims })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Causes from other crates are kept as the `source`, with their own message, under an
    /// error message of ours.
    #[test]
    fn foreign_causes_are_sources() {
        use std::error::Error as _;
        let err = decode_insecure("e30=.e30.").unwrap_err();
        assert_eq!(
            err.to_string(),
            "header is not canonical base64url without padding"
        );
        let cause = err.source().unwrap();
        assert_eq!(
            cause.to_string(),
            b64::decode(b"e30=").unwrap_err().to_string()
        );
        let err = Error::serialize("claims")(serde::ser::Error::custom("no"));
        assert_eq!(err.to_string(), "cannot serialise claims");
        assert_eq!(err.source().unwrap().to_string(), "no");
    }

    #[test]
    fn b64_len_is_exact() {
        for n in 0..200 {
            assert_eq!(b64_len(n), b64::encode(&vec![0xa5; n]).len(), "{n}");
        }
    }
}
