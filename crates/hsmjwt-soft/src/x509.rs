//! Self-signed certificates and certificate signing requests (PKCS#10) made by any
//! [`hsmjwt_core::Signer`]: a file key, an HSM key, anything that signs JWS.
//!
//! The structures are built by RustCrypto's `x509-cert` builder; the signature comes from
//! the caller's signer through one adapter ([`X509Signer`]), so a key in a PKCS#11 token
//! signs its own certificate without leaving the token. The JWS algorithm of the signer
//! decides the certificate's signature algorithm ([`signature_algorithm`]: one line per
//! algorithm). Before a certificate or request is returned, its signature is checked with
//! the signer's public key, so a signer whose key and public half do not belong together
//! never yields one.
//!
//! What a certificate from [`self_signed`] holds, and why: a version 3 leaf certificate,
//! issuer = subject; a random positive 16-byte serial number; valid from
//! [`NOT_BEFORE_SKEW`] before `now` (so that a verifier whose clock is a little behind
//! accepts it at once) until `days` days after `now`; basic constraints `CA:FALSE` and key
//! usage `digitalSignature` (both critical), extended key usage `clientAuth` (the key
//! authenticates a client to a token endpoint), the subject key identifier (SHA-1 of the
//! public key, RFC 5280 section 4.2.1.2 method 1) and the same value as authority key
//! identifier, and the subject alternative names given. Services that register a client's
//! certificate (Microsoft Entra ID, Google service accounts, Salesforce connected apps,
//! Adobe Developer Console) take such a plain self-signed leaf. A request from
//! [`certificate_request`] holds the subject, the public key and the subject alternative
//! names (as a requested extension); the rest is the CA's to decide.

use std::cell::RefCell;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::time::Duration;

use const_oid::db::rfc5912;
use der::asn1::{AnyRef, BitString, GeneralizedTime, Ia5String, PrintableStringRef, UintRef};
use der::{Any, Decode, Encode, Sequence, Tag, Tagged};
use hsmjwt_core::{Algorithm, KeyKind, NumericDate, Signer, Verifier};
use spki::{
    AlgorithmIdentifierOwned, AlgorithmIdentifierRef, DynSignatureAlgorithmIdentifier,
    EncodePublicKey, SignatureBitStringEncoding, SubjectPublicKeyInfoOwned,
    SubjectPublicKeyInfoRef,
};
use x509_cert::builder::{Builder, CertificateBuilder, Profile, RequestBuilder};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectAltName as SanExtension, SubjectKeyIdentifier,
};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};

use crate::cert::Certificate;
use crate::error::{Error, Result};
use crate::public::PublicKey;
use crate::verifier::SoftVerifier;

/// How long before `now` a new certificate's validity starts: 5 minutes, for verifiers
/// whose clocks are a little behind.
pub const NOT_BEFORE_SKEW: Duration = Duration::from_secs(5 * 60);

/// The validity of a certificate when none is given: 365 days.
pub const DEFAULT_DAYS: u32 = 365;

/// The longest validity [`self_signed`] accepts: 36,525 days (100 years).
pub const MAX_DAYS: u32 = 36_525;

const DAY: u64 = 86_400;

/// The length of the random serial numbers, in bytes.
const SERIAL_LEN: usize = 16;

/// Makes [`Error::InvalidCertificateField`] about `field`, whose value was `value`, from a
/// reason.
fn invalid<'a>(field: &'static str, value: &'a str) -> impl Fn(&str) -> Error + 'a {
    move |reason| Error::InvalidCertificateField {
        field,
        value: value.to_owned(),
        reason: reason.to_owned(),
    }
}

/// A distinguished name, parsed from its RFC 4514 string form (`CN=svc,O=Example`).
///
/// Attributes are written most significant last, as RFC 4514 and `openssl -nameopt
/// RFC2253` do; a `,`, `+`, `"`, `\`, `<`, `>` or `;` inside a value is escaped with `\`
/// (`CN=Acme\, Inc.`), and `\XX` is a byte in hex. Attribute names are the usual short ones
/// (`CN`, `O`, `OU`, `C`, `L`, `ST`, `DC`, `UID`, ...) or dotted OIDs; values are UTF-8
/// strings (PrintableString for `C` and `serialNumber`, IA5String for `DC`).
#[derive(Clone, PartialEq, Eq)]
pub struct DistinguishedName(Name);

impl DistinguishedName {
    /// The DER encoding of the name.
    ///
    /// # Errors
    /// [`Error::Der`] when the name cannot be encoded.
    pub fn to_der(&self) -> Result<Vec<u8>> {
        self.0.to_der().map_err(Error::der("distinguished name"))
    }
}

impl FromStr for DistinguishedName {
    type Err = Error;

    /// Parses an RFC 4514 name.
    ///
    /// # Errors
    /// [`Error::InvalidCertificateField`] naming the subject when the text is empty, is not
    /// an RFC 4514 name, has an empty value, or a `C` or `serialNumber` that is not a
    /// PrintableString.
    fn from_str(s: &str) -> Result<Self> {
        let invalid = invalid("subject", s);
        if s.trim().is_empty() {
            return Err(invalid("it is empty (for example CN=my-service,O=Example)"));
        }
        let name = Name::from_str(s).map_err(|_| {
            invalid(
                "not an RFC 4514 name: write NAME=VALUE pairs separated by commas without \
                 spaces (CN=my-service,O=Example), and a comma inside a value as \\,",
            )
        })?;
        for atv in name.0.iter().flat_map(|rdn| rdn.0.iter()) {
            if atv.value.value().is_empty() {
                return Err(invalid("an attribute has an empty value"));
            }
            if atv.value.tag() == Tag::PrintableString
                && PrintableStringRef::try_from(&atv.value).is_err()
            {
                return Err(invalid(
                    "C and serialNumber take letters, digits, spaces and '()+,-./:=? only",
                ));
            }
        }
        Ok(DistinguishedName(name))
    }
}

impl fmt::Display for DistinguishedName {
    /// The RFC 4514 form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for DistinguishedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DistinguishedName({self})")
    }
}

/// A subject alternative name: `DNS:`, `IP:`, `URI:` or `email:` and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SubjectAltName {
    /// `DNS:host.example` (a `*.` wildcard is allowed as the first label).
    Dns(String),
    /// `IP:192.0.2.1` or `IP:2001:db8::1`.
    Ip(IpAddr),
    /// `URI:https://service.example/id` (an absolute URI).
    Uri(String),
    /// `email:ops@example.com`.
    Email(String),
}

impl SubjectAltName {
    /// The prefix of the text form and the value.
    fn parts(&self) -> (&'static str, String) {
        match self {
            SubjectAltName::Dns(v) => ("DNS", v.clone()),
            SubjectAltName::Ip(ip) => ("IP", ip.to_string()),
            SubjectAltName::Uri(v) => ("URI", v.clone()),
            SubjectAltName::Email(v) => ("email", v.clone()),
        }
    }

    fn general_name(&self) -> Result<GeneralName> {
        let text = self.to_string();
        let invalid = invalid("subject alternative name", &text);
        let ia5 =
            |v: &str| Ia5String::new(v).map_err(|_| invalid("only ASCII characters are allowed"));
        Ok(match self {
            SubjectAltName::Dns(v) => GeneralName::DnsName(ia5(v)?),
            SubjectAltName::Ip(ip) => GeneralName::from(*ip),
            SubjectAltName::Uri(v) => GeneralName::UniformResourceIdentifier(ia5(v)?),
            SubjectAltName::Email(v) => GeneralName::Rfc822Name(ia5(v)?),
        })
    }
}

impl FromStr for SubjectAltName {
    type Err = Error;

    /// Parses `DNS:name`, `IP:address`, `URI:uri` or `email:address` (the prefix in any
    /// case), as `openssl -addext subjectAltName=` writes them.
    ///
    /// # Errors
    /// [`Error::InvalidCertificateField`] for another prefix, an empty or non-ASCII value,
    /// a DNS name with characters other than letters, digits, `-`, `.` (and a leading
    /// `*.`), an IP address that does not parse, a URI without a scheme, or an e-mail
    /// address without `@`.
    fn from_str(s: &str) -> Result<Self> {
        let invalid = invalid("subject alternative name", s);
        let (kind, value) = s
            .split_once(':')
            .ok_or_else(|| invalid("write DNS:name, IP:address, URI:uri or email:address"))?;
        if value.is_empty() || !value.is_ascii() || value.contains(char::is_whitespace) {
            return Err(invalid(
                "the value must be non-empty ASCII without spaces (write a non-ASCII domain \
                 name in its xn-- form)",
            ));
        }
        let san = match kind.to_ascii_lowercase().as_str() {
            "dns" => {
                let host = value.strip_prefix("*.").unwrap_or(value);
                let label_ok = |l: &str| {
                    !l.is_empty()
                        && !l.starts_with('-')
                        && !l.ends_with('-')
                        && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                };
                if !host.split('.').all(label_ok) {
                    return Err(invalid(
                        "a DNS name is labels of letters, digits and '-' joined by '.', \
                         optionally after '*.'",
                    ));
                }
                SubjectAltName::Dns(value.to_owned())
            }
            "ip" => SubjectAltName::Ip(
                value
                    .parse()
                    .map_err(|_| invalid("not an IPv4 or IPv6 address"))?,
            ),
            "uri" => {
                let scheme_ok = value.split_once(':').is_some_and(|(scheme, _)| {
                    scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                        && scheme
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
                });
                if !scheme_ok {
                    return Err(invalid("a URI must be absolute (scheme:...)"));
                }
                SubjectAltName::Uri(value.to_owned())
            }
            "email" => {
                if !value
                    .split_once('@')
                    .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty())
                {
                    return Err(invalid("an e-mail address is local@domain"));
                }
                SubjectAltName::Email(value.to_owned())
            }
            _ => {
                return Err(invalid(
                    "the prefix must be DNS:, IP:, URI: or email: (for example DNS:svc.example)",
                ));
            }
        };
        Ok(san)
    }
}

impl fmt::Display for SubjectAltName {
    /// The text form, `DNS:svc.example`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (kind, value) = self.parts();
        write!(f, "{kind}:{value}")
    }
}

/// What goes into a certificate or a request besides the key: the subject, the subject
/// alternative names and (for certificates) the validity in days.
#[derive(Debug, Clone)]
pub struct CertificateParams {
    subject: DistinguishedName,
    subject_alt_names: Vec<SubjectAltName>,
    days: u32,
}

impl CertificateParams {
    /// Parameters for `subject`, with no alternative names and [`DEFAULT_DAYS`] of validity.
    pub fn new(subject: DistinguishedName) -> Self {
        CertificateParams {
            subject,
            subject_alt_names: Vec::new(),
            days: DEFAULT_DAYS,
        }
    }

    /// Adds a subject alternative name.
    #[must_use]
    pub fn with_subject_alt_name(mut self, san: SubjectAltName) -> Self {
        self.subject_alt_names.push(san);
        self
    }

    /// Sets how many days a certificate is valid after its `now` (1 to [`MAX_DAYS`]).
    #[must_use]
    pub fn with_days(mut self, days: u32) -> Self {
        self.days = days;
        self
    }

    /// The subject.
    pub fn subject(&self) -> &DistinguishedName {
        &self.subject
    }

    /// The subject alternative names.
    pub fn subject_alt_names(&self) -> &[SubjectAltName] {
        &self.subject_alt_names
    }

    /// The validity in days.
    pub fn days(&self) -> u32 {
        self.days
    }

    /// The subject alternative name extension, when there are names.
    fn san_extension(&self) -> Result<Option<SanExtension>> {
        if self.subject_alt_names.is_empty() {
            return Ok(None);
        }
        let names = self
            .subject_alt_names
            .iter()
            .map(SubjectAltName::general_name)
            .collect::<Result<Vec<_>>>()?;
        Ok(Some(SanExtension(names)))
    }

    /// notBefore and notAfter for a certificate made at `now`.
    fn validity(&self, now: NumericDate) -> Result<Validity> {
        let days = format!("{} days", self.days);
        let invalid = invalid("validity", &days);
        if !(1..=MAX_DAYS).contains(&self.days) {
            return Err(invalid(&format!("must be 1 to {MAX_DAYS} days")));
        }
        let now =
            u64::try_from(now.as_unix()).map_err(|_| invalid("the current time is before 1970"))?;
        let time = |secs: u64| -> Result<Time> {
            let date = der::DateTime::from_unix_duration(Duration::from_secs(secs))
                .map_err(Error::der("certificate validity"))?;
            Ok(Time::GeneralTime(GeneralizedTime::from_date_time(date)))
        };
        Ok(Validity {
            not_before: time(now.saturating_sub(NOT_BEFORE_SKEW.as_secs()))?,
            not_after: time(now + u64::from(self.days) * DAY)?,
        })
    }
}

/// A PKCS#10 certificate signing request.
#[derive(Clone)]
pub struct CertificateRequest {
    der: Vec<u8>,
    subject: String,
}

impl CertificateRequest {
    /// The DER encoding.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The PEM encoding (`CERTIFICATE REQUEST`), as CAs and `openssl req` take it.
    pub fn to_pem(&self) -> String {
        crate::asn1::pem_encode("CERTIFICATE REQUEST", &self.der)
    }

    /// The subject, in RFC 4514 form.
    pub fn subject(&self) -> &str {
        &self.subject
    }
}

impl fmt::Debug for CertificateRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertificateRequest")
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// Makes a self-signed certificate for the key of `signer`, signed by it with its
/// algorithm, valid from [`NOT_BEFORE_SKEW`] before `now` for `params.days()` days (see the
/// module notes for what it holds).
///
/// # Errors
/// [`Error::InvalidCertificateField`] for a validity out of range or a non-ASCII
/// alternative name, [`Error::UnsupportedAlgorithm`] for an algorithm that has no X.509
/// form here, [`Error::CertificateSigning`] when the signer fails (its error is the
/// source), [`Error::CertificateSelfCheck`] when its signature does not verify with its
/// public key, and [`Error::Der`] when encoding fails.
pub fn self_signed<S: Signer + ?Sized>(
    signer: &S,
    params: &CertificateParams,
    now: NumericDate,
) -> Result<Certificate> {
    let x509 = X509Signer::new(signer)?;
    let spki = x509.spki()?;
    let mut builder = CertificateBuilder::new(
        Profile::Manual { issuer: None },
        random_serial()?,
        params.validity(now)?,
        params.subject.0.clone(),
        spki.clone(),
        &x509,
    )
    .map_err(build_error("certificate"))?;
    let spki_ref = SubjectPublicKeyInfoRef::from_der(&x509.spki_der)
        .map_err(Error::der("SubjectPublicKeyInfo"))?;
    let key_id = SubjectKeyIdentifier::try_from(spki_ref.clone())
        .map_err(Error::der("subject key identifier"))?;
    let authority = AuthorityKeyIdentifier::try_from(spki_ref)
        .map_err(Error::der("authority key identifier"))?;
    let failed = build_error("certificate");
    builder
        .add_extension(&BasicConstraints {
            ca: false,
            path_len_constraint: None,
        })
        .map_err(&failed)?;
    builder
        .add_extension(&KeyUsage(KeyUsages::DigitalSignature.into()))
        .map_err(&failed)?;
    builder
        .add_extension(&ExtendedKeyUsage(vec![rfc5912::ID_KP_CLIENT_AUTH]))
        .map_err(&failed)?;
    builder.add_extension(&key_id).map_err(&failed)?;
    builder.add_extension(&authority).map_err(&failed)?;
    if let Some(san) = params.san_extension()? {
        builder.add_extension(&san).map_err(&failed)?;
    }
    let cert = x509.finish(builder.build::<X509Signature>(), "certificate")?;
    let der = cert.to_der().map_err(Error::der("certificate"))?;
    Certificate::from_der(&der)
}

/// Makes a PKCS#10 certificate signing request for the key of `signer`, signed by it with
/// its algorithm: the subject, the public key, and the subject alternative names as a
/// requested extension. `params.days()` is not used (the CA decides the validity).
///
/// # Errors
/// As [`self_signed`], but for the validity.
pub fn certificate_request<S: Signer + ?Sized>(
    signer: &S,
    params: &CertificateParams,
) -> Result<CertificateRequest> {
    let x509 = X509Signer::new(signer)?;
    let mut builder = RequestBuilder::new(params.subject.0.clone(), &x509)
        .map_err(build_error("certificate request"))?;
    if let Some(san) = params.san_extension()? {
        builder
            .add_extension(&san)
            .map_err(build_error("certificate request"))?;
    }
    let request = x509.finish(builder.build::<X509Signature>(), "certificate request")?;
    Ok(CertificateRequest {
        der: request
            .to_der()
            .map_err(Error::der("certificate request"))?,
        subject: params.subject.to_string(),
    })
}

/// Makes [`Error::Der`] about `what` from the x509-cert builder's error.
fn build_error(what: &'static str) -> impl Fn(x509_cert::builder::Error) -> Error {
    move |e| Error::Der {
        what,
        source: Box::new(e),
    }
}

/// A random, positive serial number of [`SERIAL_LEN`] bytes (the top bit clear and the
/// next one set, so that its encoding is always exactly that long).
fn random_serial() -> Result<SerialNumber> {
    let mut bytes = [0u8; SERIAL_LEN];
    aws_lc_rs::rand::fill(&mut bytes).map_err(Error::crypto("random serial number"))?;
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    SerialNumber::new(&bytes).map_err(Error::der("serial number"))
}

/// How a JWS signature becomes an X.509 signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    /// As it is (RSA; EdDSA too).
    Same,
    /// Raw `r || s` to the DER `Ecdsa-Sig-Value` of RFC 3279.
    EcdsaDer,
}

/// The X.509 signature algorithm of a JWS algorithm, and how its signatures are encoded
/// (ECDSA's raw `r || s` as DER, everything else as it is). One line per algorithm: a new
/// one is one more line.
fn signature_algorithm(alg: Algorithm) -> Result<(AlgorithmIdentifierOwned, Encoding)> {
    use rfc5912::*;
    let rsa = |oid| AlgorithmIdentifierOwned {
        oid,
        parameters: Some(Any::from(AnyRef::NULL)),
    };
    let bare = |oid| AlgorithmIdentifierOwned {
        oid,
        parameters: None,
    };
    let identifier = match alg {
        Algorithm::RS256 => rsa(SHA_256_WITH_RSA_ENCRYPTION),
        Algorithm::RS384 => rsa(SHA_384_WITH_RSA_ENCRYPTION),
        Algorithm::RS512 => rsa(SHA_512_WITH_RSA_ENCRYPTION),
        Algorithm::PS256 => rsa_pss(ID_SHA_256, alg)?,
        Algorithm::PS384 => rsa_pss(ID_SHA_384, alg)?,
        Algorithm::PS512 => rsa_pss(ID_SHA_512, alg)?,
        Algorithm::ES256 => bare(ECDSA_WITH_SHA_256),
        Algorithm::ES384 => bare(ECDSA_WITH_SHA_384),
        Algorithm::ES512 => bare(ECDSA_WITH_SHA_512),
        // RFC 8410: the algorithm identifier of Ed25519 signatures has no parameters.
        Algorithm::EdDSA => bare(const_oid::db::rfc8410::ID_ED_25519),
        other => return Err(Error::UnsupportedAlgorithm(other)),
    };
    let encoding = match alg.key_kind() {
        KeyKind::Ec(_) => Encoding::EcdsaDer,
        _ => Encoding::Same,
    };
    Ok((identifier, encoding))
}

/// `id-RSASSA-PSS` with the parameters of the JWS algorithm: the hash, MGF1 with the same
/// hash, a salt as long as the hash (RFC 7518 section 3.5), trailer field 1.
fn rsa_pss(hash: der::asn1::ObjectIdentifier, alg: Algorithm) -> Result<AlgorithmIdentifierOwned> {
    let hash = AlgorithmIdentifierRef {
        oid: hash,
        parameters: Some(AnyRef::NULL),
    };
    let salt_len = alg
        .hash()
        .and_then(|h| u8::try_from(h.output_len()).ok())
        .ok_or(Error::UnsupportedAlgorithm(alg))?;
    let params = pkcs1::RsaPssParams {
        hash,
        mask_gen: spki::AlgorithmIdentifier {
            oid: rfc5912::ID_MGF_1,
            parameters: Some(hash),
        },
        salt_len,
        trailer_field: pkcs1::TrailerField::BC,
    };
    Ok(AlgorithmIdentifierOwned {
        oid: rfc5912::ID_RSASSA_PSS,
        parameters: Some(Any::encode_from(&params).map_err(Error::der("RSASSA-PSS parameters"))?),
    })
}

/// ECDSA-Sig-Value (RFC 3279 section 2.2.3).
#[derive(Sequence)]
struct EcdsaSigValue<'a> {
    r: UintRef<'a>,
    s: UintRef<'a>,
}

/// The raw `r || s` signature as DER.
fn ecdsa_der(raw: &[u8]) -> Result<Vec<u8>> {
    if raw.is_empty() || !raw.len().is_multiple_of(2) {
        return Err(Error::Der {
            what: "ECDSA signature",
            source: format!("{} bytes is not r || s", raw.len()).into(),
        });
    }
    let (r, s) = raw.split_at(raw.len() / 2);
    EcdsaSigValue {
        r: UintRef::new(r).map_err(Error::der("ECDSA signature"))?,
        s: UintRef::new(s).map_err(Error::der("ECDSA signature"))?,
    }
    .to_der()
    .map_err(Error::der("ECDSA signature"))
}

/// A signature as the x509-cert builder takes it.
struct X509Signature(Vec<u8>);

impl SignatureBitStringEncoding for X509Signature {
    fn to_bitstring(&self) -> der::Result<BitString> {
        BitString::from_bytes(&self.0)
    }
}

/// A public key as the x509-cert builder takes it: its SubjectPublicKeyInfo.
#[derive(Clone)]
struct SpkiDer(Vec<u8>);

impl EncodePublicKey for SpkiDer {
    fn to_public_key_der(&self) -> spki::Result<spki::Document> {
        Ok(spki::Document::try_from(self.0.as_slice())?)
    }
}

/// A [`Signer`] seen as the RustCrypto signer the x509-cert builder wants. Each signature
/// is checked with the signer's public key before it is used; a failure is kept here, with
/// its cause, because the builder's error keeps none.
struct X509Signer<'a, S: ?Sized> {
    signer: &'a S,
    spki_der: Vec<u8>,
    algorithm: AlgorithmIdentifierOwned,
    encoding: Encoding,
    verifier: SoftVerifier,
    failure: RefCell<Option<Error>>,
}

impl<'a, S: Signer + ?Sized> X509Signer<'a, S> {
    fn new(signer: &'a S) -> Result<Self> {
        let alg = signer.algorithm();
        let (algorithm, encoding) = signature_algorithm(alg)?;
        let public = PublicKey::from_jwk(signer.public_key())?;
        Ok(X509Signer {
            signer,
            spki_der: public.to_spki_der(),
            algorithm,
            encoding,
            verifier: SoftVerifier::new(&public, alg)?,
            failure: RefCell::new(None),
        })
    }

    fn spki(&self) -> Result<SubjectPublicKeyInfoOwned> {
        SubjectPublicKeyInfoOwned::from_der(&self.spki_der)
            .map_err(Error::der("SubjectPublicKeyInfo"))
    }

    /// The builder's result, with a signing failure reported as its own error.
    fn finish<T>(
        &self,
        built: std::result::Result<T, x509_cert::builder::Error>,
        what: &'static str,
    ) -> Result<T> {
        match (built, self.failure.borrow_mut().take()) {
            (Ok(value), None) => Ok(value),
            (_, Some(failure)) => Err(failure),
            (Err(e), None) => Err(build_error(what)(e)),
        }
    }

    fn sign_checked(&self, message: &[u8]) -> Result<Vec<u8>> {
        let raw = self
            .signer
            .sign(message)
            .map_err(Error::CertificateSigning)?;
        self.verifier
            .verify(message, &raw)
            .map_err(Error::CertificateSelfCheck)?;
        match self.encoding {
            Encoding::Same => Ok(raw),
            Encoding::EcdsaDer => ecdsa_der(&raw),
        }
    }
}

impl<S: Signer + ?Sized> signature::Keypair for X509Signer<'_, S> {
    type VerifyingKey = SpkiDer;

    fn verifying_key(&self) -> SpkiDer {
        SpkiDer(self.spki_der.clone())
    }
}

impl<S: Signer + ?Sized> DynSignatureAlgorithmIdentifier for X509Signer<'_, S> {
    fn signature_algorithm_identifier(&self) -> spki::Result<AlgorithmIdentifierOwned> {
        Ok(self.algorithm.clone())
    }
}

impl<S: Signer + ?Sized> signature::Signer<X509Signature> for X509Signer<'_, S> {
    fn try_sign(&self, message: &[u8]) -> std::result::Result<X509Signature, signature::Error> {
        self.sign_checked(message).map(X509Signature).map_err(|e| {
            *self.failure.borrow_mut() = Some(e);
            signature::Error::new()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{KeySpec, PrivateKey, SoftSigner};

    fn signer(spec: KeySpec, alg: Option<Algorithm>) -> SoftSigner {
        SoftSigner::new(PrivateKey::generate(spec).unwrap(), alg).unwrap()
    }

    #[test]
    fn names_parse_with_escapes_and_refuse_nonsense() {
        let dn: DistinguishedName = r"CN=Acme\, Inc.,O=Example,C=DE".parse().unwrap();
        assert_eq!(dn.to_string(), r"CN=Acme\, Inc.,O=Example,C=DE");
        // Most significant (C) first in DER, as RFC 4514 strings are written last-first.
        let der = dn.to_der().unwrap();
        let c = der.windows(4).position(|w| w == [0x55, 0x04, 0x06, 0x13]);
        let cn = der.windows(3).position(|w| w == [0x55, 0x04, 0x03]);
        assert!(c.unwrap() < cn.unwrap(), "{der:02x?}");
        for bad in [
            "",
            "  ",
            "CN",
            "CN=a, O=b",
            "XX=a",
            "CN=",
            "C=D*",
            "/CN=a/O=b",
        ] {
            let e = bad.parse::<DistinguishedName>().unwrap_err();
            assert!(
                matches!(
                    e,
                    Error::InvalidCertificateField {
                        field: "subject",
                        ..
                    }
                ),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn alternative_names() {
        for (text, want) in [
            ("DNS:svc.example", SubjectAltName::Dns("svc.example".into())),
            (
                "dns:*.svc.example",
                SubjectAltName::Dns("*.svc.example".into()),
            ),
            (
                "IP:192.0.2.1",
                SubjectAltName::Ip("192.0.2.1".parse().unwrap()),
            ),
            (
                "IP:2001:db8::1",
                SubjectAltName::Ip("2001:db8::1".parse().unwrap()),
            ),
            (
                "URI:spiffe://x/y",
                SubjectAltName::Uri("spiffe://x/y".into()),
            ),
            (
                "email:ops@example.com",
                SubjectAltName::Email("ops@example.com".into()),
            ),
        ] {
            let san: SubjectAltName = text.parse().unwrap();
            assert_eq!(san, want);
            assert_eq!(san.to_string().to_lowercase(), text.to_lowercase());
        }
        for bad in [
            "svc.example",
            "DNS:",
            "DNS:a b",
            "DNS:bücher.example",
            "DNS:-a.example",
            "DNS:a..b",
            "IP:300.1.1.1",
            "URI:no-scheme",
            "email:nobody",
            "RID:1.2.3",
        ] {
            assert!(bad.parse::<SubjectAltName>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_certificate_for_each_algorithm_certifies_the_key_and_verifies() {
        let now = NumericDate::from_unix(1_750_000_000);
        let cases = [
            (KeySpec::Rsa(2048), Some(Algorithm::RS256)),
            (KeySpec::Rsa(2048), Some(Algorithm::PS256)),
            (KeySpec::Rsa(2048), Some(Algorithm::PS512)),
            (KeySpec::P256, None),
            (KeySpec::P384, None),
        ];
        for (spec, alg) in cases {
            let s = signer(spec, alg);
            let params = CertificateParams::new("CN=t,O=hsmjwt".parse().unwrap())
                .with_subject_alt_name("DNS:t.example".parse().unwrap())
                .with_subject_alt_name("IP:192.0.2.7".parse().unwrap())
                .with_days(30);
            let cert = self_signed(&s, &params, now).unwrap();
            assert!(cert.certifies(s.public_key()));
            // x509-parser and `openssl x509 -subject` show the DER order.
            assert_eq!(cert.subject(), "O=hsmjwt, CN=t");
            assert_eq!(cert.issuer(), cert.subject());
            assert_eq!(cert.not_before().as_unix(), now.as_unix() - 300);
            assert_eq!(cert.not_after().as_unix(), now.as_unix() + 30 * 86_400);
            assert_eq!(
                cert.subject_alt_names(),
                ["DNS:t.example".to_owned(), "IP:192.0.2.7".to_owned()]
            );
            assert_eq!(cert.serial_hex().split(':').count(), 16);

            let req = certificate_request(&s, &params).unwrap();
            assert!(
                req.to_pem()
                    .starts_with("-----BEGIN CERTIFICATE REQUEST-----")
            );
            assert_eq!(req.subject(), "CN=t,O=hsmjwt");
        }
    }

    #[test]
    fn serials_are_random_positive_and_sixteen_bytes() {
        let a = random_serial().unwrap();
        let b = random_serial().unwrap();
        assert_ne!(a, b);
        for s in [a, b] {
            assert_eq!(s.as_bytes().len(), SERIAL_LEN);
            assert_eq!(s.as_bytes()[0] & 0xc0, 0x40);
        }
    }

    #[test]
    fn validity_bounds() {
        let s = signer(KeySpec::P256, None);
        let params = |days| CertificateParams::new("CN=t".parse().unwrap()).with_days(days);
        let now = NumericDate::from_unix(1_750_000_000);
        for days in [0, MAX_DAYS + 1] {
            assert!(matches!(
                self_signed(&s, &params(days), now),
                Err(Error::InvalidCertificateField {
                    field: "validity",
                    ..
                })
            ));
        }
        // Beyond 2049 the dates are GeneralizedTime; within, UTCTime (RFC 5280).
        let cert = self_signed(&s, &params(MAX_DAYS), now).unwrap();
        assert!(cert.not_after().as_unix() > 4_000_000_000);
    }

    /// A signer whose signatures are not made by the key it shows.
    struct Impostor(SoftSigner, SoftSigner);

    impl Signer for Impostor {
        fn algorithm(&self) -> Algorithm {
            self.0.algorithm()
        }
        fn key_id(&self) -> Option<&str> {
            None
        }
        fn public_key(&self) -> &hsmjwt_core::Jwk {
            self.0.public_key()
        }
        fn sign(&self, message: &[u8]) -> hsmjwt_core::Result<Vec<u8>> {
            self.1.sign(message)
        }
    }

    #[test]
    fn a_signer_whose_key_does_not_match_gets_no_certificate() {
        let bad = Impostor(signer(KeySpec::P256, None), signer(KeySpec::P256, None));
        let params = CertificateParams::new("CN=t".parse().unwrap());
        assert!(matches!(
            self_signed(&bad, &params, NumericDate::now()),
            Err(Error::CertificateSelfCheck(_))
        ));
        assert!(matches!(
            certificate_request(&bad, &params),
            Err(Error::CertificateSelfCheck(_))
        ));
    }

    #[test]
    fn ecdsa_signatures_become_der() {
        let mut raw = vec![0u8; 64];
        raw[31] = 1;
        raw[32] = 0x80;
        let der = ecdsa_der(&raw).unwrap();
        assert_eq!(&der[..5], [0x30, 0x26, 0x02, 0x01, 0x01]);
        assert_eq!(&der[5..8], [0x02, 0x21, 0x00]);
        assert!(ecdsa_der(&raw[..63]).is_err());
    }
}
