//! X.509 certificates: `x5c` and `x5t#S256` headers, key matching and validity windows.
//!
//! AEM service certificates expire after one year and users forget: [`Certificate::check`]
//! warns within [`EXPIRY_WARNING_DAYS`] days of the end and fails after it.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hsmjwt_core::{HashAlg, Header, Jwk, NumericDate, b64};
use serde_json::Value;
use x509_parser::extensions::GeneralName;

use crate::error::{Error, Result};
use crate::file::{MAX_CERTIFICATE_FILE, read_file};
use crate::public::{PublicKey, load_certificate_chain, parse_certificate};

/// Days before expiry from which [`Certificate::check`] reports
/// [`Validity::ExpiresSoon`]: 30.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

const DAY: i64 = 86_400;

/// A parsed X.509 certificate with what JWS headers and checks need.
#[derive(Debug, Clone)]
pub struct Certificate {
    der: Vec<u8>,
    public_key: PublicKey,
    subject: String,
    issuer: String,
    not_before: NumericDate,
    not_after: NumericDate,
    not_before_text: String,
    not_after_text: String,
    serial: Vec<u8>,
    subject_alt_names: Vec<String>,
}

/// Where a certificate stands in its validity period at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Validity {
    /// Valid, with this many whole days left.
    Valid {
        /// Whole days until `notAfter`.
        days_left: i64,
    },
    /// Valid, but ending within [`EXPIRY_WARNING_DAYS`] days.
    ExpiresSoon {
        /// Whole days until `notAfter`.
        days_left: i64,
    },
    /// Not valid yet.
    NotYetValid,
    /// Expired.
    Expired {
        /// Whole days since `notAfter`.
        days_ago: i64,
    },
}

impl Certificate {
    /// Parses one DER certificate.
    ///
    /// # Errors
    /// [`Error::Certificate`] for malformed DER or trailing data; key errors for an
    /// unsupported or too small public key.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        let cert = parse_certificate(der)?;
        let validity = cert.validity();
        let public_key = PublicKey::from_certificate_der(der)?;
        let subject_alt_names = match cert.subject_alternative_name() {
            Ok(Some(ext)) => ext
                .value
                .general_names
                .iter()
                .map(general_name_text)
                .collect(),
            Ok(None) => Vec::new(),
            Err(e) => return Err(Error::certificate(e)),
        };
        Ok(Certificate {
            der: der.to_vec(),
            public_key,
            subject: cert.subject().to_string(),
            issuer: cert.issuer().to_string(),
            not_before: NumericDate::from_unix(validity.not_before.timestamp()),
            not_after: NumericDate::from_unix(validity.not_after.timestamp()),
            not_before_text: validity.not_before.to_string(),
            not_after_text: validity.not_after.to_string(),
            serial: cert.raw_serial().to_vec(),
            subject_alt_names,
        })
    }

    /// Parses a chain: PEM with one or more `CERTIFICATE` blocks (leaf first), or one DER
    /// certificate.
    ///
    /// # Errors
    /// [`Error::NoCertificate`] when there is none, and any error of
    /// [`Certificate::from_der`].
    pub fn chain_from_bytes(bytes: &[u8]) -> Result<Vec<Certificate>> {
        load_certificate_chain(bytes)?
            .iter()
            .map(|der| Certificate::from_der(der))
            .collect()
    }

    /// Reads a chain from a file of at most [`MAX_CERTIFICATE_FILE`] bytes; see
    /// [`Certificate::chain_from_bytes`].
    ///
    /// # Errors
    /// As [`Certificate::chain_from_bytes`]; [`Error::Io`] when the file cannot be read and
    /// [`Error::TooLarge`] when it is larger than the limit. The error names the file.
    pub fn load_chain(path: &Path) -> Result<Vec<Certificate>> {
        let bytes = read_file(path, MAX_CERTIFICATE_FILE, "certificate files")?;
        Self::chain_from_bytes(&bytes).map_err(|e| e.in_file(path))
    }

    /// The DER encoding.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The certified public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.public_key
    }

    /// The subject's distinguished name.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The issuer's distinguished name.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Start of the validity period.
    pub fn not_before(&self) -> NumericDate {
        self.not_before
    }

    /// End of the validity period.
    pub fn not_after(&self) -> NumericDate {
        self.not_after
    }

    /// Start of the validity period as text (e.g. `Feb 14 07:30:37 2025 +00:00`).
    pub fn not_before_text(&self) -> &str {
        &self.not_before_text
    }

    /// End of the validity period as text (e.g. `Feb 14 07:35:37 2026 +00:00`).
    pub fn not_after_text(&self) -> &str {
        &self.not_after_text
    }

    /// The PEM encoding (`CERTIFICATE`).
    pub fn to_pem(&self) -> String {
        crate::asn1::pem_encode("CERTIFICATE", &self.der)
    }

    /// The serial number as colon-separated upper-case hex bytes, as encoded (`4A:0F:...`).
    pub fn serial_hex(&self) -> String {
        colon_hex(&self.serial)
    }

    /// The subject alternative names, as `DNS:name`, `IP:address`, `URI:uri`,
    /// `email:address` (other kinds as x509-parser names them), in certificate order.
    pub fn subject_alt_names(&self) -> &[String] {
        &self.subject_alt_names
    }

    /// The SHA-1 fingerprint as colon-separated upper-case hex, as `openssl x509
    /// -fingerprint` and certificate portals show it (`x5t` is the same hash in base64url).
    pub fn sha1_fingerprint(&self) -> String {
        colon_hex(self.sha1().as_ref())
    }

    fn sha1(&self) -> aws_lc_rs::digest::Digest {
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, &self.der)
    }

    /// The `x5t#S256` value: base64url of the SHA-256 of the DER certificate.
    pub fn x5t_s256(&self) -> String {
        b64::encode(&HashAlg::Sha256.digest(&self.der))
    }

    /// The `x5t` value: base64url of the SHA-1 of the DER certificate (RFC 7515 4.1.7; still
    /// sent by some services, Microsoft Entra ID among them).
    pub fn x5t(&self) -> String {
        b64::encode(self.sha1().as_ref())
    }

    /// Checks the certificate thumbprints a token's header carries, `x5t#S256` and `x5t`,
    /// against this certificate; a header without them passes.
    ///
    /// # Errors
    /// [`Error::CertificateThumbprintMismatch`] naming the member and both thumbprints
    /// (the token's cleaned for printing).
    pub fn check_thumbprints(&self, header: &Header) -> Result<()> {
        let carried = [
            (
                "x5t#S256",
                header.x5t_s256.clone().map(Value::String),
                self.x5t_s256(),
            ),
            ("x5t", header.extra.get("x5t").cloned(), self.x5t()),
        ];
        for (member, token, certificate) in carried {
            let token = match token {
                None => continue,
                Some(Value::String(t)) if t == certificate => continue,
                Some(Value::String(t)) => t,
                Some(other) => other.to_string(),
            };
            return Err(Error::CertificateThumbprintMismatch {
                member,
                token,
                certificate,
                subject: self.subject.clone(),
            });
        }
        Ok(())
    }

    /// The certificate as an `x5c` entry: standard base64 (not base64url) of the DER.
    pub fn x5c_entry(&self) -> String {
        STANDARD.encode(&self.der)
    }

    /// Whether the certificate certifies the public key `jwk` (same key material).
    pub fn certifies(&self, jwk: &Jwk) -> bool {
        self.public_key.params() == &jwk.params
    }

    /// Where the certificate stands at `now`.
    pub fn validity(&self, now: NumericDate) -> Validity {
        let (now, start, end) = (
            now.as_unix(),
            self.not_before.as_unix(),
            self.not_after.as_unix(),
        );
        if now < start {
            Validity::NotYetValid
        } else if now > end {
            Validity::Expired {
                days_ago: (now - end) / DAY,
            }
        } else {
            let days_left = (end - now) / DAY;
            if days_left < EXPIRY_WARNING_DAYS {
                Validity::ExpiresSoon { days_left }
            } else {
                Validity::Valid { days_left }
            }
        }
    }

    /// Checks the validity window at `now`: an error when expired or not yet valid, else
    /// the [`Validity`] (which may be [`Validity::ExpiresSoon`], worth a warning).
    ///
    /// # Errors
    /// [`Error::CertificateExpired`] or [`Error::CertificateNotYetValid`].
    pub fn check(&self, now: NumericDate) -> Result<Validity> {
        match self.validity(now) {
            Validity::Expired { .. } => Err(Error::CertificateExpired {
                subject: self.subject.clone(),
                not_after: self.not_after_text.clone(),
            }),
            Validity::NotYetValid => Err(Error::CertificateNotYetValid {
                subject: self.subject.clone(),
                not_before: self.not_before_text.clone(),
            }),
            v => Ok(v),
        }
    }

    /// Checks that this certificate certifies `jwk`.
    ///
    /// # Errors
    /// [`Error::CertificateKeyMismatch`] when the public keys differ.
    pub fn check_key(&self, jwk: &Jwk) -> Result<()> {
        if self.certifies(jwk) {
            Ok(())
        } else {
            Err(Error::CertificateKeyMismatch {
                subject: self.subject.clone(),
            })
        }
    }
}

/// Bytes as colon-separated upper-case hex: `0A:FF`.
fn colon_hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// A subject alternative name in the form `openssl -addext subjectAltName=` takes.
fn general_name_text(name: &GeneralName<'_>) -> String {
    match name {
        GeneralName::DNSName(s) => format!("DNS:{s}"),
        GeneralName::RFC822Name(s) => format!("email:{s}"),
        GeneralName::URI(s) => format!("URI:{s}"),
        GeneralName::IPAddress(b) => match <[u8; 4]>::try_from(*b) {
            Ok(v4) => format!("IP:{}", std::net::Ipv4Addr::from(v4)),
            Err(_) => match <[u8; 16]>::try_from(*b) {
                Ok(v6) => format!("IP:{}", std::net::Ipv6Addr::from(v6)),
                Err(_) => format!("IP:{}", colon_hex(b)),
            },
        },
        other => other.to_string(),
    }
}

/// Which headers [`certify_header`] sets besides `x5t#S256`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CertificateHeaders {
    /// `x5c`: the whole chain.
    pub x5c: bool,
    /// `x5t`: the leaf's SHA-1 thumbprint, for services that want the legacy form.
    pub x5t: bool,
}

impl CertificateHeaders {
    /// `x5t#S256`, with `x5c` and `x5t` as given.
    pub fn new(x5c: bool, x5t: bool) -> Self {
        CertificateHeaders { x5c, x5t }
    }
}

/// Puts `chain` (leaf first) in `header` for a token signed by the key of `jwk` at `now`,
/// after checking that the leaf certifies that key and is valid: `x5t#S256`, and `x5c` and
/// `x5t` as `which` asks. Returns the leaf's [`Validity`] ([`Validity::ExpiresSoon`] is
/// worth a warning). `hsmjwt sign --cert` and the agent's profiles do this.
///
/// # Errors
/// [`Error::NoCertificate`] for an empty chain, [`Error::CertificateKeyMismatch`] when the
/// leaf certifies another key, [`Error::CertificateExpired`] or
/// [`Error::CertificateNotYetValid`] at `now`, [`Error::Core`] when `x5t` cannot be set.
pub fn certify_header(
    header: &mut Header,
    chain: &[Certificate],
    jwk: &Jwk,
    now: NumericDate,
    which: CertificateHeaders,
) -> Result<Validity> {
    let leaf = chain.first().ok_or(Error::NoCertificate)?;
    leaf.check_key(jwk)?;
    let validity = leaf.check(now)?;
    set_certificate_headers(header, chain, which.x5c);
    if which.x5t {
        header.set("x5t", serde_json::Value::String(leaf.x5t()))?;
    }
    Ok(validity)
}

/// Sets `x5t#S256` from the leaf (first) certificate of `chain` and, when `with_chain`,
/// `x5c` with the whole chain.
pub fn set_certificate_headers(header: &mut Header, chain: &[Certificate], with_chain: bool) {
    if let Some(leaf) = chain.first() {
        header.x5t_s256 = Some(leaf.x5t_s256());
        if with_chain {
            header.x5c = Some(chain.iter().map(Certificate::x5c_entry).collect());
        }
    }
}
