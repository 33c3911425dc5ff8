//! RFC 7512 PKCS#11 URIs: parsing, and printing a parsed URI gives one that parses back
//! to the same URI (except with a `pin-value`, which prints redacted on purpose).

#![no_main]

use hsmjwt_pkcs11::Pkcs11Uri;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(uri) = text.parse::<Pkcs11Uri>()
        && uri.pin_value().is_none()
    {
        let printed = uri.to_string();
        let again: Pkcs11Uri = printed
            .parse()
            .unwrap_or_else(|e| panic!("{printed:?} does not parse back: {e}"));
        assert_eq!(again, uri, "{printed}");
    }
});
