//! base64url: `b64::decode`, `validate` and `decode_with_buf` (on `base64-simd`) accept and
//! reject exactly what the `base64` crate's strict `URL_SAFE_NO_PAD` engine does, with the
//! same bytes and the same error; encoding round-trips.

#![no_main]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hsmjwt_core::b64;
use libfuzzer_sys::fuzz_target;

/// The reference's result in the shape of ours: `b64::DecodeError` wraps the `base64`
/// crate's error (without making it part of the API), so the two are compared through
/// `Debug`, which shows the wrapped error whole: variant, offset and byte.
fn same<T: PartialEq + std::fmt::Debug>(
    ours: Result<T, b64::DecodeError>,
    reference: &Result<T, base64::DecodeError>,
) {
    match (&ours, reference) {
        (Ok(a), Ok(b)) => assert_eq!(a, b),
        (Err(a), Err(b)) => assert_eq!(format!("{a:?}"), format!("DecodeError({b:?})")),
        _ => panic!("{ours:?} but the reference gives {reference:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let reference = URL_SAFE_NO_PAD.decode(data);
    same(b64::decode(data), &reference);
    same(b64::validate(data), &reference.clone().map(drop));
    let mut buf = [0u8; 96];
    same(
        b64::decode_with_buf(data, &mut buf).map(|b| b.into_owned()),
        &reference,
    );
    let encoded = b64::encode(data);
    assert_eq!(encoded, URL_SAFE_NO_PAD.encode(data));
    assert_eq!(b64::decode(encoded.as_bytes()).as_deref(), Ok(data));
});
