//! Claims JSON and validation: the one-pass parser agrees with the general parser and
//! `from_map`, parsed claims round-trip through JSON, and validation never panics.

#![no_main]

use hsmjwt_core::Algorithm;
use hsmjwt_core::{Claims, Header, NumericDate, Validation, json};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let fast = Claims::from_json(data);
    let slow = json::parse_object(data, "payload").and_then(Claims::from_map);
    assert_eq!(format!("{fast:?}"), format!("{slow:?}"));
    let Ok(claims) = fast else { return };
    let json = claims.to_json().expect("parsed claims serialise");
    let again = Claims::from_json(&json).expect("serialised claims parse back");
    // Registered claims come back equal; other members by name (serde_json does not
    // round-trip every float to the last bit, which is not ours to fix).
    let registered = |c: &Claims| {
        (
            c.iss.clone(),
            c.sub.clone(),
            c.aud.clone(),
            c.exp,
            c.nbf,
            c.iat,
            c.jti.clone(),
            c.extra.keys().cloned().collect::<Vec<_>>(),
        )
    };
    assert_eq!(registered(&again), registered(&claims));
    let header = Header::jwt(Algorithm::RS256);
    let strict = Validation::new()
        .with_issuer("https://issuer.example")
        .with_audience("https://api.example")
        .with_subject("client-1")
        .with_max_lifetime(std::time::Duration::from_secs(3600))
        .require("jti")
        .with_typ("JWT")
        .at(NumericDate::from_unix(1_700_000_000));
    let _ = strict.validate(&header, &claims);
    let lenient = Validation::new()
        .with_any_audience()
        .with_required_claims(Vec::<String>::new())
        .at(NumericDate::from_unix(i64::MAX));
    let _ = lenient.validate(&header, &claims);
    let early = Validation::new().at(NumericDate::from_unix(i64::MIN));
    let _ = early.validate(&header, &claims);
});
