//! Which signature mechanisms a token offers, asked once per slot, and how each JWS
//! algorithm is signed with what it offers.
//!
//! Per algorithm the token's own hash-and-sign mechanism comes first; when the token lacks
//! it, the single-part raw mechanism over a digest computed here: `CKM_RSA_PKCS` over a
//! DER `DigestInfo` for RS*, `CKM_RSA_PKCS_PSS` with explicit parameters for PS* (p11-kit's
//! remoting and AWS CloudHSM offer only these). ES* always signs a digest with
//! `CKM_ECDSA`; EdDSA needs `CKM_EDDSA`. An algorithm the token cannot do is refused when
//! the signer opens, naming the mechanisms it lacks.

use std::borrow::Cow;
use std::sync::Arc;

use cryptoki::context::Pkcs11;
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsPssParams};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::slot::Slot;
use cryptoki::types::Ulong;
use hsmjwt_core::{Algorithm, HashAlg};

/// What the signing mechanism is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Input {
    /// The message itself: the token hashes (RS*, PS* hash-and-sign) or signs it whole
    /// (EdDSA).
    Message,
    /// The DER `DigestInfo` of the message's digest (`CKM_RSA_PKCS` for RS*).
    DigestInfo,
    /// The message's digest (`CKM_RSA_PKCS_PSS` for PS*, `CKM_ECDSA` for ES*).
    Digest,
}

/// How one algorithm is signed on one token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Route {
    pub(crate) algorithm: Algorithm,
    pub(crate) mechanism: MechanismType,
    pub(crate) input: Input,
}

impl Route {
    /// The mechanism with its parameters. PSS uses MGF1 with the algorithm's hash and a
    /// salt as long as the hash (RFC 7518 section 3.5).
    pub(crate) fn mechanism(&self) -> Mechanism<'static> {
        let hash = self.algorithm.hash();
        let pss = || {
            let (hash_alg, mgf) = match hash {
                Some(HashAlg::Sha384) => (MechanismType::SHA384, PkcsMgfType::MGF1_SHA384),
                Some(HashAlg::Sha512) => (MechanismType::SHA512, PkcsMgfType::MGF1_SHA512),
                _ => (MechanismType::SHA256, PkcsMgfType::MGF1_SHA256),
            };
            PkcsPssParams {
                hash_alg,
                mgf,
                // Salt lengths are 32, 48 or 64 bytes.
                s_len: Ulong::from(std::ffi::c_ulong::from(
                    hash.and_then(|h| u8::try_from(h.output_len()).ok())
                        .unwrap_or(u8::MAX),
                )),
            }
        };
        match self.mechanism {
            MechanismType::SHA256_RSA_PKCS => Mechanism::Sha256RsaPkcs,
            MechanismType::SHA384_RSA_PKCS => Mechanism::Sha384RsaPkcs,
            MechanismType::SHA512_RSA_PKCS => Mechanism::Sha512RsaPkcs,
            MechanismType::SHA256_RSA_PKCS_PSS => Mechanism::Sha256RsaPkcsPss(pss()),
            MechanismType::SHA384_RSA_PKCS_PSS => Mechanism::Sha384RsaPkcsPss(pss()),
            MechanismType::SHA512_RSA_PKCS_PSS => Mechanism::Sha512RsaPkcsPss(pss()),
            MechanismType::RSA_PKCS_PSS => Mechanism::RsaPkcsPss(pss()),
            MechanismType::RSA_PKCS => Mechanism::RsaPkcs,
            MechanismType::EDDSA => {
                Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Ed25519))
            }
            _ => Mechanism::Ecdsa,
        }
    }

    /// Whether the mechanism also signs in parts (`C_SignUpdate`, `C_SignFinal`): the
    /// hash-and-sign ones. Raw mechanisms over a digest, and EdDSA, sign in one part only.
    pub(crate) fn multi_part(&self) -> bool {
        self.input == Input::Message && self.algorithm.hash().is_some()
    }

    /// What the mechanism signs for `message` (the message itself is not copied).
    pub(crate) fn input<'m>(&self, message: &'m [u8]) -> Cow<'m, [u8]> {
        match (self.input, self.algorithm.hash()) {
            (Input::Message, _) | (_, None) => Cow::Borrowed(message),
            (Input::Digest, Some(hash)) => Cow::Owned(hash.digest(message)),
            (Input::DigestInfo, Some(hash)) => {
                let mut info = digest_info_prefix(hash).to_vec();
                info.extend_from_slice(&hash.digest(message));
                Cow::Owned(info)
            }
        }
    }
}

/// The DER prefix of a PKCS#1 v1.5 `DigestInfo` (RFC 8017 section 9.2, note 1): the
/// algorithm identifier of the hash, then the `OCTET STRING` header of the digest.
fn digest_info_prefix(hash: HashAlg) -> &'static [u8] {
    match hash {
        HashAlg::Sha384 => &[
            0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x02, 0x05, 0x00, 0x04, 0x30,
        ],
        HashAlg::Sha512 => &[
            0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x03, 0x05, 0x00, 0x04, 0x40,
        ],
        _ => &[
            0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x01, 0x05, 0x00, 0x04, 0x20,
        ],
    }
}

/// The mechanisms that sign `alg`, the preferred first, with what each is given.
fn candidates(alg: Algorithm) -> &'static [(MechanismType, Input)] {
    use Input::{Digest, DigestInfo, Message};
    match alg {
        Algorithm::RS256 => &[
            (MechanismType::SHA256_RSA_PKCS, Message),
            (MechanismType::RSA_PKCS, DigestInfo),
        ],
        Algorithm::RS384 => &[
            (MechanismType::SHA384_RSA_PKCS, Message),
            (MechanismType::RSA_PKCS, DigestInfo),
        ],
        Algorithm::RS512 => &[
            (MechanismType::SHA512_RSA_PKCS, Message),
            (MechanismType::RSA_PKCS, DigestInfo),
        ],
        Algorithm::PS256 => &[
            (MechanismType::SHA256_RSA_PKCS_PSS, Message),
            (MechanismType::RSA_PKCS_PSS, Digest),
        ],
        Algorithm::PS384 => &[
            (MechanismType::SHA384_RSA_PKCS_PSS, Message),
            (MechanismType::RSA_PKCS_PSS, Digest),
        ],
        Algorithm::PS512 => &[
            (MechanismType::SHA512_RSA_PKCS_PSS, Message),
            (MechanismType::RSA_PKCS_PSS, Digest),
        ],
        Algorithm::ES256 | Algorithm::ES384 | Algorithm::ES512 => &[(MechanismType::ECDSA, Digest)],
        Algorithm::EdDSA => &[(MechanismType::EDDSA, Message)],
        _ => &[],
    }
}

/// Every mechanism some algorithm may use, in a fixed order (for listings).
const SIGNING: [MechanismType; 10] = [
    MechanismType::SHA256_RSA_PKCS,
    MechanismType::SHA384_RSA_PKCS,
    MechanismType::SHA512_RSA_PKCS,
    MechanismType::RSA_PKCS,
    MechanismType::SHA256_RSA_PKCS_PSS,
    MechanismType::SHA384_RSA_PKCS_PSS,
    MechanismType::SHA512_RSA_PKCS_PSS,
    MechanismType::RSA_PKCS_PSS,
    MechanismType::ECDSA,
    MechanismType::EDDSA,
];

/// The signing mechanisms a slot offers (`CKF_SIGN`), or unknown when the token would not
/// say (then the preferred mechanisms are assumed, and a missing one fails at
/// `C_SignInit`).
#[derive(Debug, Clone, Default)]
pub(crate) struct Offered(Option<Arc<Vec<MechanismType>>>);

impl Offered {
    /// Asks the token of `slot`: `C_GetMechanismList`, then `C_GetMechanismInfo` for the
    /// signing mechanisms among them (one whose information cannot be read is kept).
    pub(crate) fn ask(ctx: &Pkcs11, slot: Slot) -> Self {
        let list = match ctx.get_mechanism_list(slot) {
            Ok(list) => list,
            Err(e) => {
                tracing::debug!(slot = slot.id(), error = %e, "the token does not list its mechanisms; assuming the usual ones");
                return Offered(None);
            }
        };
        let signing = list
            .into_iter()
            .filter(|m| SIGNING.contains(m))
            .filter(|m| {
                ctx.get_mechanism_info(slot, *m)
                    .map_or(true, |info| info.sign())
            })
            .collect();
        Offered(Some(Arc::new(signing)))
    }

    fn has(&self, m: MechanismType) -> bool {
        self.0.as_ref().is_none_or(|set| set.contains(&m))
    }

    /// The signing mechanisms offered, by their `CKM_` names, in a fixed order; `None`
    /// when unknown.
    pub(crate) fn names(&self) -> Option<Vec<String>> {
        let set = self.0.as_ref()?;
        Some(
            SIGNING
                .iter()
                .filter(|m| set.contains(m))
                .map(ToString::to_string)
                .collect(),
        )
    }

    /// How `alg` is signed here: the first of its candidates the token offers.
    ///
    /// # Errors
    /// The `CKM_` names of the candidates, none of which the token offers (empty for an
    /// algorithm with no PKCS#11 form).
    pub(crate) fn route(&self, alg: Algorithm) -> Result<Route, Vec<String>> {
        let candidates = candidates(alg);
        candidates
            .iter()
            .find(|(m, _)| self.has(*m))
            .map(|(mechanism, input)| Route {
                algorithm: alg,
                mechanism: *mechanism,
                input: *input,
            })
            .ok_or_else(|| candidates.iter().map(|(m, _)| m.to_string()).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offered(ms: &[MechanismType]) -> Offered {
        Offered(Some(Arc::new(ms.to_vec())))
    }

    #[test]
    fn hash_and_sign_first_then_the_raw_mechanisms() {
        let all = offered(&SIGNING);
        let unknown = Offered::default();
        for alg in Algorithm::ALL {
            let preferred = all.route(alg).unwrap();
            assert_eq!(unknown.route(alg).unwrap(), preferred, "{alg}");
            let expected = match alg {
                Algorithm::RS256 => MechanismType::SHA256_RSA_PKCS,
                Algorithm::RS384 => MechanismType::SHA384_RSA_PKCS,
                Algorithm::RS512 => MechanismType::SHA512_RSA_PKCS,
                Algorithm::PS256 => MechanismType::SHA256_RSA_PKCS_PSS,
                Algorithm::PS384 => MechanismType::SHA384_RSA_PKCS_PSS,
                Algorithm::PS512 => MechanismType::SHA512_RSA_PKCS_PSS,
                Algorithm::EdDSA => MechanismType::EDDSA,
                _ => MechanismType::ECDSA,
            };
            assert_eq!(preferred.mechanism, expected, "{alg}");
            assert_eq!(preferred.mechanism().mechanism_type(), expected, "{alg}");
        }
        // p11-kit 0.24's remoting: raw RSA mechanisms only, no EdDSA.
        let remote = offered(&[
            MechanismType::RSA_PKCS,
            MechanismType::RSA_PKCS_PSS,
            MechanismType::SHA256_RSA_PKCS,
            MechanismType::ECDSA,
        ]);
        let ps = remote.route(Algorithm::PS384).unwrap();
        assert_eq!(
            (ps.mechanism, ps.input),
            (MechanismType::RSA_PKCS_PSS, Input::Digest)
        );
        assert_eq!(ps.input(b"m").len(), 48);
        let rs = remote.route(Algorithm::RS512).unwrap();
        assert_eq!(
            (rs.mechanism, rs.input),
            (MechanismType::RSA_PKCS, Input::DigestInfo)
        );
        assert_eq!(rs.input(b"m").len(), 19 + 64);
        assert_eq!(
            remote.route(Algorithm::RS256).unwrap().mechanism,
            MechanismType::SHA256_RSA_PKCS
        );
        assert_eq!(remote.route(Algorithm::EdDSA).unwrap_err(), ["CKM_EDDSA"]);
        assert_eq!(remote.names().unwrap().len(), 4);
        assert_eq!(unknown.names(), None);
    }

    /// The `DigestInfo` prefixes are the DER of `SEQUENCE { SEQUENCE { hash OID, NULL },
    /// OCTET STRING }` for each hash, as `x509-cert`'s `der` encodes it.
    #[test]
    fn digest_info_prefixes_are_the_der_encoding() {
        use x509_cert::der::Encode;
        use x509_cert::der::asn1::{Null, ObjectIdentifier, OctetString};
        use x509_cert::spki::AlgorithmIdentifier;
        for (hash, oid) in [
            (HashAlg::Sha256, "2.16.840.1.101.3.4.2.1"),
            (HashAlg::Sha384, "2.16.840.1.101.3.4.2.2"),
            (HashAlg::Sha512, "2.16.840.1.101.3.4.2.3"),
        ] {
            let digest = vec![0xab; hash.output_len()];
            let algorithm = AlgorithmIdentifier {
                oid: ObjectIdentifier::new_unwrap(oid),
                parameters: Some(Null),
            };
            let mut body = algorithm.to_der().unwrap();
            body.extend(OctetString::new(digest.clone()).unwrap().to_der().unwrap());
            let mut der = vec![0x30, u8::try_from(body.len()).unwrap()];
            der.extend(body);
            let mut ours = digest_info_prefix(hash).to_vec();
            ours.extend(digest);
            assert_eq!(ours, der, "{hash:?}");
        }
    }
}
