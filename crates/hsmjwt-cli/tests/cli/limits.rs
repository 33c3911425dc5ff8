//! Every file and stdin is read with a bound that holds while reading: `/dev/zero`, which
//! never ends and tells no size, is refused with one line naming it and the limit.

use std::path::Path;
use std::time::Duration;

use crate::{Run, hsmjwt, hsmjwt_bounded, p};

/// A run given at most 3 s (and 4 GiB): an unbounded read is killed, and fails the test.
fn bounded(args: &[&str], stdin: Option<&Path>) -> Run {
    hsmjwt_bounded(args, stdin, &[], Duration::from_secs(3))
}

fn refused(args: &[&str], stdin: Option<&Path>, expected: &str) {
    let run = bounded(args, stdin);
    let line = run.fails();
    assert_eq!(line, format!("error: {expected}"), "{args:?}");
}

#[test]
fn key_certificate_jwks_and_claims_files_are_read_with_a_bound() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key.pem");
    hsmjwt(&["keygen", "--alg", "ES256", "--out", p(&key)]).ok();
    let token = hsmjwt(&["sign", "--key", p(&key), "--ttl", "5m"]).ok();
    let token = token.trim();
    let key_files = "/dev/zero is larger than the 1 MiB limit for key files";

    for args in [
        &["sign", "--key", "/dev/zero"][..],
        &["pubkey", "--key", "/dev/zero"],
        &["verify", "--key", "/dev/zero", token],
        &[
            "service-token",
            "--key",
            "/dev/zero",
            "--iss",
            "i",
            "--sub",
            "s",
        ],
        &["bench", "--key", "/dev/zero", "--seconds", "1"],
    ] {
        let run = bounded(args, None);
        let line = run.fails();
        assert!(line.contains(key_files), "{args:?}: {line}");
    }
    refused(
        &["verify", "--jwks", "/dev/zero", token],
        None,
        "/dev/zero is larger than the 1 MiB limit for JWK Set files",
    );
    refused(
        &["sign", "--key", p(&key), "--cert", "/dev/zero"],
        None,
        "/dev/zero is larger than the 1 MiB limit for certificate files",
    );
    // `verify --cert` reads a certificate chain (and checks its validity), not a key file.
    refused(
        &["verify", "--cert", "/dev/zero", token],
        None,
        "/dev/zero is larger than the 1 MiB limit for certificate files",
    );
    refused(
        &["sign", "--key", p(&key), "--claims", "@/dev/zero"],
        None,
        "/dev/zero is larger than the 1 MiB limit for claims",
    );
}

#[test]
fn stdin_is_read_with_a_bound() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key.pem");
    hsmjwt(&["keygen", "--alg", "ES256", "--out", p(&key)]).ok();
    let zero = Some(Path::new("/dev/zero"));
    let tokens = "stdin is larger than the 68 KiB limit for tokens";
    refused(&["decode"], zero, tokens);
    refused(&["verify", "--key", p(&key), "-"], zero, tokens);
    refused(
        &["sign", "--key", p(&key), "--claims", "-"],
        zero,
        "stdin is larger than the 1 MiB limit for claims",
    );
}

#[test]
fn credentials_files_are_read_with_a_bound() {
    for args in [
        &["ims", "jwt", "--credentials", "/dev/zero"][..],
        &["credentials", "check", "--credentials", "/dev/zero"],
    ] {
        let line = bounded(args, None).fails();
        assert!(
            line.contains("/dev/zero") && line.contains("larger than"),
            "{args:?}: {line}"
        );
    }
}
