//! Inputs the fuzz targets of `fuzz/` once crashed on, kept as regression tests.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use hsmjwt_pkcs11::Pkcs11Uri;

/// fuzz target `pkcs11_uri`: `pin-source=file:fil:e/r/run/pin` names the relative path
/// `fil:e/r/run/pin`, which was printed bare and then read as a URI of scheme `fil:`; a
/// printed URI must parse back to the same URI.
#[test]
fn pin_source_that_looks_like_a_uri_prints_as_a_file_uri() {
    for (uri, path) in [
        (
            "pkcs11:token=t?pin-source=file:fil:e/r/run/pin",
            "fil:e/r/run/pin",
        ),
        ("pkcs11:token=t?pin-source=file:file:x", "file:x"),
        ("pkcs11:token=t?pin-source=file:%7Ccmd", "|cmd"),
        ("pkcs11:token=t?pin-source=file:/run/pin", "/run/pin"),
        ("pkcs11:token=t?pin-source=./pin", "./pin"),
    ] {
        let parsed: Pkcs11Uri = uri.parse().unwrap();
        assert_eq!(parsed.pin_source(), Some(Path::new(path)), "{uri}");
        let printed = parsed.to_string();
        let again: Pkcs11Uri = printed
            .parse()
            .unwrap_or_else(|e| panic!("{printed} does not parse back: {e}"));
        assert_eq!(again, parsed, "{printed}");
    }
}

/// The whole crash input, as the fuzzer found it.
#[test]
fn fuzz_crash_input_round_trips() {
    let uri = "pkcs11:token=jwt-test;object=rsa-key=private?module-path=/usr/lib/softhsm/libsofthsmate?module-path=/us=fitosenso&pin-source=file:fil:e/r/run/pin";
    let parsed: Pkcs11Uri = uri.parse().unwrap();
    let printed = parsed.to_string();
    assert_eq!(printed.parse::<Pkcs11Uri>().ok(), Some(parsed), "{printed}");
}
