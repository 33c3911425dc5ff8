//! Key and certificate files are read with a bound that holds while reading: a pipe, whose
//! metadata tells no size, is refused once it gives more than the limit.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};

use hsmjwt_soft::{
    Certificate, Error, KeySpec, MAX_CERTIFICATE_FILE, MAX_KEY_FILE, PrivateKey, PublicKey,
};

/// `text` padded with newlines to `len` bytes.
fn padded(text: &str, len: u64) -> Vec<u8> {
    let mut bytes = text.as_bytes().to_vec();
    bytes.resize(usize::try_from(len).unwrap(), b'\n');
    bytes
}

/// A FIFO in `dir` that gives `content` and ends.
fn pipe(dir: &common::Dir, name: &str, content: Vec<u8>) -> PathBuf {
    let path = dir.path(name);
    hsmjwt_testkit::fifo(&path, content).unwrap();
    path
}

fn assert_too_large<T: std::fmt::Debug>(r: Result<T, Error>, path: &Path, what: &str) {
    match r {
        Err(e @ Error::TooLarge { .. }) => assert_eq!(
            e.to_string(),
            format!(
                "{} is larger than the 1 MiB limit for {what}",
                path.display()
            )
        ),
        other => panic!("expected TooLarge for {}, got {other:?}", path.display()),
    }
}

#[test]
fn key_files_larger_than_the_limit_are_refused_while_reading() {
    let dir = common::Dir::new();
    let key = PrivateKey::generate(KeySpec::P256).unwrap();
    let pem = key.to_pkcs8_pem().unwrap();
    let public_pem = key.public_key().to_spki_pem();

    // Up to the limit, a key loads, from a pipe too.
    let exact = pipe(&dir, "exact", padded(&pem, MAX_KEY_FILE));
    assert_eq!(
        PrivateKey::load(&exact).unwrap().public_key(),
        key.public_key()
    );
    let exact = pipe(&dir, "exact-public", padded(&public_pem, MAX_KEY_FILE));
    assert_eq!(&PublicKey::load(&exact).unwrap(), key.public_key());

    // One byte more is refused, whether the file is a pipe or a regular file.
    let over = pipe(&dir, "over", padded(&pem, MAX_KEY_FILE + 1));
    assert_too_large(PrivateKey::load(&over), &over, "key files");
    let over = pipe(&dir, "over-public", padded(&public_pem, MAX_KEY_FILE + 1));
    assert_too_large(PublicKey::load(&over), &over, "key files");
    let regular = dir.path("regular.pem");
    std::fs::write(&regular, padded(&pem, MAX_KEY_FILE + 4096)).unwrap();
    assert_too_large(PrivateKey::load(&regular), &regular, "key files");
    assert_too_large(PublicKey::load(&regular), &regular, "key files");
}

#[test]
fn certificate_files_larger_than_the_limit_are_refused_while_reading() {
    let dir = common::Dir::new();
    dir.openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "key.pem",
        "-out",
        "cert.pem",
        "-days",
        "30",
        "-subj",
        "/CN=limits",
    ]);
    let cert = std::fs::read_to_string(dir.path("cert.pem")).unwrap();

    let exact = pipe(&dir, "exact", padded(&cert, MAX_CERTIFICATE_FILE));
    assert_eq!(Certificate::load_chain(&exact).unwrap().len(), 1);
    let over = pipe(&dir, "over", padded(&cert, MAX_CERTIFICATE_FILE + 1));
    assert_too_large(Certificate::load_chain(&over), &over, "certificate files");
    // A certificate as a public key file is a key file.
    let over = pipe(&dir, "over-as-key", padded(&cert, MAX_KEY_FILE + 1));
    assert_too_large(PublicKey::load(&over), &over, "key files");
}

/// `overwrite_and_remove` overwrites the file's blocks before removing its name: a second
/// hard link to the same file sees only zeros afterwards. Links and non-files are refused.
#[test]
fn a_removed_private_file_is_overwritten_first() {
    use hsmjwt_soft::file::{overwrite_and_remove, write_private_file};

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("creds.json");
    let secret = b"-----BEGIN PRIVATE KEY-----\nsecret\n-----END PRIVATE KEY-----\n";
    write_private_file(&path, secret, false).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert!(matches!(
        write_private_file(&path, b"x", false),
        Err(hsmjwt_soft::Error::AlreadyExists { .. })
    ));
    let witness = dir.path().join("witness");
    std::fs::hard_link(&path, &witness).unwrap();
    overwrite_and_remove(&path).unwrap();
    assert!(!path.exists());
    let left = std::fs::read(&witness).unwrap();
    assert_eq!(left.len(), secret.len());
    assert!(left.iter().all(|b| *b == 0), "{left:?}");

    #[cfg(unix)]
    {
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&witness, &link).unwrap();
        let e = overwrite_and_remove(&link).unwrap_err();
        assert!(
            matches!(e, hsmjwt_soft::Error::NotRegularFile { .. }),
            "{e:?}"
        );
        assert!(link.exists() && witness.exists());
    }
    let e = overwrite_and_remove(dir.path()).unwrap_err();
    assert!(
        matches!(e, hsmjwt_soft::Error::NotRegularFile { .. }),
        "{e:?}"
    );
}
