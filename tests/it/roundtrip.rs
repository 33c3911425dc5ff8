//! Property tests: claims and headers survive encode/decode; arbitrary input never panics.

use hsmjwt::core::{Claims, Header, Jwk, Jwks, UnverifiedToken};
use hsmjwt::{Algorithm, Audience, NumericDate, Validation, decode, decode_insecure, encode};
use proptest::prelude::*;
use serde_json::{Map, Value};

use crate::common::es256;

fn text() -> impl Strategy<Value = String> {
    // Any Unicode, including quotes, backslashes and control characters.
    proptest::string::string_regex("(?s).{0,24}").unwrap()
}

fn extra_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(2, 8, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{1,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn extras(reserved: &'static [&'static str]) -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map(text(), extra_value(), 0..4).prop_map(move |m| {
        m.into_iter()
            .filter(|(k, _)| !reserved.contains(&k.as_str()) && k != "b64")
            .collect()
    })
}

fn date() -> impl Strategy<Value = Option<NumericDate>> {
    prop::option::of((-(1i64 << 40)..(1i64 << 40)).prop_map(NumericDate::from_unix))
}

fn claims() -> impl Strategy<Value = Claims> {
    (
        prop::option::of(text()),
        prop::option::of(text()),
        prop::option::of(prop_oneof![
            text().prop_map(Audience::One),
            prop::collection::vec(text(), 0..3).prop_map(Audience::Many),
        ]),
        (date(), date(), date()),
        prop::option::of(text()),
        extras(hsmjwt::core::claims::REGISTERED_CLAIM_NAMES),
    )
        .prop_map(|(iss, sub, aud, (exp, nbf, iat), jti, extra)| Claims {
            iss,
            sub,
            aud,
            exp,
            nbf,
            iat,
            jti,
            extra,
        })
}

fn header() -> impl Strategy<Value = Header> {
    (
        prop::option::of(text()),
        prop::option::of(text()),
        prop::option::of(text()),
        extras(hsmjwt::core::header::REGISTERED_HEADER_NAMES),
    )
        .prop_map(|(typ, kid, cty, extra)| {
            let mut h = Header::new(Algorithm::ES256);
            h.typ = typ;
            h.kid = kid;
            h.cty = cty;
            h.extra = extra;
            h
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn claims_and_headers_survive_encode_decode(c in claims(), h in header()) {
        let token = encode(&h, &c, &es256().signer).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let parsed = UnverifiedToken::parse(&token, usize::MAX).map_err(|e| TestCaseError::fail(e.to_string()))?;
        parsed.verify_signature(&es256().verifier).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&parsed.header, &h);
        prop_assert_eq!(parsed.claims().map_err(|e| TestCaseError::fail(e.to_string()))?, c.clone());
        let insecure = decode_insecure(&token).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(insecure.claims, c);
    }

    #[test]
    fn arbitrary_strings_never_panic(s in "(?s).{0,400}") {
        let _ = decode_insecure(&s);
        let _ = decode(&s, &es256().verifier, &Validation::new());
    }

    #[test]
    fn arbitrary_dotted_base64_never_panics(a in "[A-Za-z0-9_-]{0,60}", b in "[A-Za-z0-9_-]{0,60}", c in "[A-Za-z0-9_-]{0,90}") {
        let s = format!("{a}.{b}.{c}");
        let _ = decode_insecure(&s);
        let _ = decode(&s, &es256().verifier, &Validation::new());
    }

    #[test]
    fn arbitrary_json_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = Header::from_json(&bytes);
        let _ = Claims::from_json(&bytes);
        let _ = Jwk::from_json(&bytes);
        let _ = Jwks::from_json(&bytes);
    }
}
