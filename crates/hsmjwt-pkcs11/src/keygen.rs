//! Generating key pairs inside the token.

use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, ObjectClass};
use cryptoki::types::Ulong;
use hsmjwt_core::{Algorithm, Jwk, KeyKind};

use crate::access::TokenAccess;
use crate::context;
use crate::error::{Error, Result};
use crate::key;
use crate::uri::{ObjectType, Pkcs11Uri};

/// The RSA sizes [`generate_key_pair`] makes.
pub const RSA_BITS: [usize; 3] = [2048, 3072, 4096];

/// Options for [`generate_key_pair_with`].
#[derive(Debug, Clone, Default)]
pub struct KeyPairOptions {
    /// The size of an RSA key: 2048 (the default), 3072 or 4096. Not for ES* and EdDSA.
    pub rsa_bits: Option<usize>,
    /// The module and the PIN source, when the URI does not give them.
    pub access: TokenAccess,
}

impl KeyPairOptions {
    /// Sets the RSA key size.
    #[must_use]
    pub fn with_rsa_bits(mut self, bits: usize) -> Self {
        self.rsa_bits = Some(bits);
        self
    }

    /// Sets the module and the PIN source used when the URI does not give them.
    #[must_use]
    pub fn with_access(mut self, access: TokenAccess) -> Self {
        self.access = access;
        self
    }
}

/// [`generate_key_pair_with`] with an RSA size and no [`TokenAccess`]: the URI names the
/// module and, when the token needs a login, gives the PIN.
///
/// # Errors
/// As [`generate_key_pair_with`].
pub fn generate_key_pair(uri: &Pkcs11Uri, alg: Algorithm, rsa_bits: Option<usize>) -> Result<Jwk> {
    let options = KeyPairOptions {
        rsa_bits,
        ..KeyPairOptions::default()
    };
    generate_key_pair_with(uri, alg, &options)
}

/// Generates a key pair for `alg` in the token the URI names and returns its public JWK.
///
/// RS* and PS* make an RSA key of [`KeyPairOptions::rsa_bits`] (2048 by default; 2048, 3072
/// or 4096), ES256 a P-256 key, ES384 a P-384 key, ES512 a P-521 key (`CKM_EC_KEY_PAIR_GEN`)
/// and EdDSA an Ed25519 key (`CKM_EC_EDWARDS_KEY_PAIR_GEN`, `CKK_EC_EDWARDS`, `CKA_EC_PARAMS`
/// the `id-Ed25519` OID). Both halves are token objects with
/// the URI's `object` as `CKA_LABEL` (required) and its `id` as `CKA_ID` (8 random bytes
/// from the token when absent). The template states only what matters, so that every
/// module takes it (tpm2-pkcs11 refuses `CKA_DECRYPT` set to false): the private key is
/// private, sensitive, not extractable and may sign; the public key may verify. Then
/// decrypting, unwrapping and deriving are taken away from the private key, encrypting and
/// wrapping from the public key, where the module lets them be changed (SoftHSM does). The module and the PIN come as for
/// [`Pkcs11Signer::open`](crate::Pkcs11Signer::open).
///
/// # Errors
/// [`Error::InvalidUri`] without `object` or with a `type` other than `private`/`public`,
/// [`Error::InvalidRequest`] for an RSA size outside 2048/3072/4096 (or a size given for an
/// ES algorithm or EdDSA), [`Error::KeyExists`] when a key with that label or id is already there,
/// the module, token and login errors of [`Pkcs11Signer::open`](crate::Pkcs11Signer::open),
/// and [`Error::Pkcs11`] when generation fails.
pub fn generate_key_pair_with(
    uri: &Pkcs11Uri,
    alg: Algorithm,
    options: &KeyPairOptions,
) -> Result<Jwk> {
    let rsa_bits = options.rsa_bits;
    let label = uri
        .object()
        .ok_or_else(|| Error::uri("object", "is required: it becomes the label of the new key"))?;
    if label.is_empty() {
        return Err(Error::uri(
            "object",
            "is empty: it becomes the label of the new key",
        ));
    }
    if let Some(t) = uri.object_type()
        && !matches!(t, ObjectType::Private | ObjectType::Public)
    {
        return Err(Error::uri(
            "type",
            format!("is `{t}`, but a key pair is generated"),
        ));
    }
    let kind = alg.key_kind();
    let (mechanism, pub_specific) = match kind {
        KeyKind::Rsa => {
            let bits = rsa_bits.unwrap_or(2048);
            if !RSA_BITS.contains(&bits) {
                return Err(Error::InvalidRequest(format!(
                    "RSA keys are made with 2048, 3072 or 4096 bits, not {bits}"
                )));
            }
            let bits = Ulong::try_from(bits)
                .map_err(|_| Error::InvalidRequest(format!("{bits} bits is out of range")))?;
            (
                Mechanism::RsaPkcsKeyPairGen,
                vec![
                    Attribute::ModulusBits(bits),
                    Attribute::PublicExponent(vec![0x01, 0x00, 0x01]),
                ],
            )
        }
        KeyKind::Ec(_) | KeyKind::Okp(_) if rsa_bits.is_some() => {
            return Err(Error::InvalidRequest(format!(
                "an RSA size ({} bits) was given for {alg}, which uses an {kind} key",
                rsa_bits.unwrap_or_default()
            )));
        }
        KeyKind::Ec(curve) => {
            let params = key::ec_params(curve)
                .ok_or_else(|| Error::InvalidRequest(format!("curve {curve} is not supported")))?;
            (
                Mechanism::EccKeyPairGen,
                vec![Attribute::EcParams(params.to_vec())],
            )
        }
        KeyKind::Okp(curve) => {
            let params = key::edwards_params(curve)
                .ok_or_else(|| Error::InvalidRequest(format!("curve {curve} is not supported")))?;
            (
                Mechanism::EccEdwardsKeyPairGen,
                vec![Attribute::EcParams(params.to_vec())],
            )
        }
        _ => {
            return Err(Error::InvalidRequest(format!(
                "algorithm {alg} is not supported"
            )));
        }
    };

    let context::RwSession {
        module,
        token: token_label,
        session,
    } = context::open_rw_session(uri, &options.access)?;
    // From the check that the label and id are free until the new key is read back, no
    // other look-up or generation of this process runs (see `context`).
    let _creating = module.creating();

    let id = key::free_label_and_id(
        &session,
        &token_label,
        label,
        uri.id(),
        &[ObjectClass::PRIVATE_KEY, ObjectClass::PUBLIC_KEY],
    )?;

    // Both halves: token objects with the label and id; the rest says what each may do.
    let half = |private: bool, uses: &[Attribute]| {
        let mut t = vec![
            Attribute::Token(true),
            Attribute::Private(private),
            Attribute::Label(label.as_bytes().to_vec()),
            Attribute::Id(id.clone()),
        ];
        t.extend_from_slice(uses);
        t
    };
    // Only what matters is stated: modules differ in what else they accept (tpm2-pkcs11
    // refuses CKA_ENCRYPT/CKA_DECRYPT set to false, and each refused attempt leaks TPM
    // objects there), so nothing is stated that a module may reject.
    let mut public = half(false, &[Attribute::Verify(true)]);
    public.extend(pub_specific);
    let private = half(
        true,
        &[
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
        ],
    );
    tracing::info!(token = %token_label, label, %alg, "generating a key pair in the token");
    let (public_handle, private_handle) = session
        .generate_key_pair(&mechanism, &public, &private)
        .map_err(|e| Error::pkcs11("C_GenerateKeyPair", &token_label, e))?;
    restrict_uses(&session, &token_label, private_handle, public_handle);
    let facts = key::describe(&session, &token_label, public_handle)?;
    let params = key::public_key(&session, &token_label, &facts)?;
    Ok(Jwk::new(params))
}

/// Takes decrypting, unwrapping and deriving away from a new private key, encrypting and
/// wrapping from its public key, where the module lets them be changed (SoftHSM does; a
/// module that refuses keeps its defaults, which is logged at debug level).
pub(crate) fn restrict_uses(
    session: &cryptoki::session::Session,
    token: &str,
    private: cryptoki::object::ObjectHandle,
    public: cryptoki::object::ObjectHandle,
) {
    for (handle, unwanted) in [
        (
            private,
            &[
                Attribute::Decrypt(false),
                Attribute::Unwrap(false),
                Attribute::Derive(false),
            ][..],
        ),
        (
            public,
            &[Attribute::Encrypt(false), Attribute::Wrap(false)][..],
        ),
    ] {
        for attribute in unwanted {
            if let Err(e) = session.update_attributes(handle, std::slice::from_ref(attribute)) {
                tracing::debug!(token = %hsmjwt_core::text::Untrusted(token), ?attribute, error = %e, "the module keeps its default for this use");
            }
        }
    }
}
