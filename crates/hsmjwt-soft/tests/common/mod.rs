//! Test helpers: keys made by the `openssl` command line in a temporary directory.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub(crate) mod keys;

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

    /// Runs `openssl` with `args` inside the directory and returns what it printed; panics
    /// with its stderr on failure.
    pub(crate) fn openssl(&self, args: &[&str]) -> String {
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
        String::from_utf8(out.stdout).expect("openssl prints UTF-8")
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

    /// A self-signed certificate for the key file `key`, subject `CN=cn`, valid for `days`
    /// days from now, in PEM as `out`.
    pub(crate) fn self_signed(&self, key: &str, cn: &str, days: u32, out: &str) -> PathBuf {
        let (subject, days) = (format!("/CN={cn}"), days.to_string());
        self.openssl(&[
            "req", "-x509", "-new", "-key", key, "-subj", &subject, "-days", &days, "-out", out,
        ]);
        self.path(out)
    }

    /// A certificate for the key file `key`, subject `CN=cn`, valid for `days` days, signed
    /// by the CA certificate `ca` with the key file `ca_key`, in PEM as `out`.
    pub(crate) fn issued(
        &self,
        key: &str,
        cn: &str,
        days: u32,
        (ca, ca_key): (&str, &str),
        out: &str,
    ) -> PathBuf {
        let (subject, days, csr) = (format!("/CN={cn}"), days.to_string(), format!("{out}.csr"));
        self.openssl(&["req", "-new", "-key", key, "-subj", &subject, "-out", &csr]);
        self.openssl(&[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            ca,
            "-CAkey",
            ca_key,
            "-CAcreateserial",
            "-days",
            &days,
            "-out",
            out,
        ]);
        self.path(out)
    }

    /// An EC key in SEC1 PEM without parameters block (`openssl ecparam -genkey -noout`).
    pub(crate) fn ec_sec1(&self, name: &str, curve: &str) -> PathBuf {
        self.openssl(&["ecparam", "-genkey", "-name", curve, "-noout", "-out", name]);
        self.path(name)
    }
}
