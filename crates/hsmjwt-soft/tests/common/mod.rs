//! Test helpers: keys made by the `openssl` command line in a temporary directory.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::Command;

/// A temporary directory in which `openssl` makes keys.
pub(crate) struct Dir {
    pub(crate) dir: tempfile::TempDir,
}

impl Dir {
    pub(crate) fn new() -> Self {
        Dir {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs `openssl` with `args` inside the directory; panics with its stderr on failure.
    pub(crate) fn openssl(&self, args: &[&str]) {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .expect("run openssl");
        assert!(
            out.status.success(),
            "openssl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub(crate) fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path(name)).expect("read")
    }

    pub(crate) fn read_str(&self, name: &str) -> String {
        String::from_utf8(self.read(name)).expect("utf-8")
    }

    pub(crate) fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, bytes).expect("write");
        p
    }

    /// An RSA key in PKCS#8 PEM (`openssl genpkey`), as `name`.
    pub(crate) fn rsa_pkcs8(&self, name: &str, bits: u32) -> PathBuf {
        let opt = format!("rsa_keygen_bits:{bits}");
        self.openssl(&[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            &opt,
            "-out",
            name,
        ]);
        self.path(name)
    }

    /// An EC key in SEC1 PEM without parameters block (`openssl ecparam -genkey -noout`).
    pub(crate) fn ec_sec1(&self, name: &str, curve: &str) -> PathBuf {
        self.openssl(&["ecparam", "-genkey", "-name", curve, "-noout", "-out", name]);
        self.path(name)
    }
}
