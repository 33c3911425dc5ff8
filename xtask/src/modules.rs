//! `cargo xtask modules` and `cargo xtask conformance`: the PKCS#11 implementations other
//! than SoftHSM2, set up on this machine, and the conformance suite run against each.
//!
//! ```text
//! cargo xtask modules [KIND ...]        # install or build them, print where they are
//! cargo xtask conformance [KIND ...]    # set them up, run the suite against each
//! ```
//!
//! KIND is `softhsm`, `kryoptic`, `tpm2` or `p11kit` (all when none is named). The Debian
//! packages a kind needs are installed with apt-get when something is missing. Kryoptic has
//! no Debian package: its crates.io release is fetched and built as a cdylib, with the
//! features Debian 12's OpenSSL 3.0 allows (`kryoptic-lib/dynamic,minimal`), into
//! `target/pkcs11-modules/kryoptic/` (about a minute on 2 cores, once; later runs find it
//! there). The suite (`crates/hsmjwt-cli/tests/conformance`) is run per module; a module that
//! cannot be set up fails the task, it is never skipped.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use hsmjwt_testkit::modules::{Kind, Setup};

use crate::{cargo, root, run_cmd};

/// The Kryoptic release built here (SPEC §6: 1.5.4 was measured on this machine kind).
const KRYOPTIC_VERSION: &str = "1.5.4";

/// Debian packages Kryoptic's build needs: bindgen's libclang and OpenSSL's headers.
const KRYOPTIC_BUILD_PACKAGES: [&str; 4] = [
    "libclang1-14",
    "libclang-common-14-dev",
    "libssl-dev",
    "pkg-config",
];

const USAGE: &str = "usage: cargo xtask modules [KIND ...]
       cargo xtask conformance [KIND ...]

KIND: softhsm, kryoptic, tpm2, p11kit (all when none is named).

modules      installs the Debian packages of each module when something is missing, builds
             Kryoptic from crates.io into target/pkcs11-modules/kryoptic, and prints the
             module paths and the variables that name them
conformance  does the same, then runs the PKCS#11 conformance suite
             (crates/hsmjwt-cli/tests/conformance) against each module, one after another";

/// The kinds named in `args`, or all of them.
fn kinds(args: &[String]) -> Result<Option<Vec<Kind>>> {
    if args.iter().any(|a| a == "-h" || a == "--help") {
        return Ok(None);
    }
    if args.is_empty() {
        return Ok(Some(Kind::ALL.to_vec()));
    }
    args.iter()
        .map(|a| {
            Kind::from_name(a)
                .with_context(|| format!("unknown module `{a}`: softhsm, kryoptic, tpm2 or p11kit"))
        })
        .collect::<Result<Vec<_>>>()
        .map(Some)
}

/// `cargo xtask modules`.
pub(crate) fn run(args: &[String]) -> Result<()> {
    let Some(kinds) = kinds(args)? else {
        println!("{USAGE}");
        return Ok(());
    };
    for kind in kinds {
        let setup = ensure(kind)?;
        let module = setup.module().map(Path::display);
        println!(
            "{kind}: {} (${}={})",
            module
                .as_ref()
                .map_or_else(String::new, ToString::to_string),
            kind.module_env(),
            module.map_or_else(String::new, |m| m.to_string()),
        );
    }
    Ok(())
}

/// `cargo xtask conformance`.
pub(crate) fn conformance(args: &[String]) -> Result<()> {
    let Some(kinds) = kinds(args)? else {
        println!("{USAGE}");
        return Ok(());
    };
    run_suite(&kinds)
}

/// Sets up each kind, then runs the suite against each; used by `cargo xtask ci` too.
pub(crate) fn run_suite(kinds: &[Kind]) -> Result<()> {
    let setups = kinds
        .iter()
        .map(|&k| ensure(k))
        .collect::<Result<Vec<_>>>()?;
    // One build of the suite and of `hsmjwt` for all modules.
    run_cmd(cargo().args([
        "test",
        "-p",
        "hsmjwt-cli",
        "--test",
        "conformance",
        "--locked",
        "--no-run",
    ]))?;
    for setup in &setups {
        let kind = setup.kind();
        let t = Instant::now();
        let mut cmd = cargo();
        cmd.args([
            "test",
            "-p",
            "hsmjwt-cli",
            "--test",
            "conformance",
            "--locked",
            "--",
        ])
        .arg(format!("{kind}::"));
        // A software TPM does one thing at a time, and tpm2-pkcs11 is slow: one test at a
        // time there. The other modules run tokens of their own in parallel.
        if kind == Kind::Tpm2 {
            cmd.args(["--test-threads", "1"]);
        }
        if let Some(module) = setup.module() {
            cmd.env(kind.module_env(), module);
        }
        run_cmd(&mut cmd).with_context(|| format!("the conformance suite failed on {kind}"))?;
        eprintln!("xtask: conformance on {kind} passed in {:.0?}", t.elapsed());
    }
    Ok(())
}

/// The module of `kind` ready to use: its packages installed, Kryoptic built.
///
/// # Errors
/// When apt-get or the build fails, or the module is still missing afterwards.
pub(crate) fn ensure(kind: Kind) -> Result<Setup> {
    let setup = match kind {
        Kind::Kryoptic => {
            // Its run-time tools (pkcs11-tool) come from a package like the others'.
            install_missing(kind, &Setup::with_module(kind, "/dev/null").missing())?;
            Setup::with_module(kind, kryoptic()?)
        }
        _ => {
            let setup = Setup::detect(kind);
            install_missing(kind, &setup.missing())?;
            Setup::detect(kind)
        }
    };
    setup
        .check()
        .with_context(|| format!("{kind} is still not usable after its set-up"))?;
    Ok(setup)
}

/// Installs `kind`'s packages when `missing` names something (other than the module path
/// `/dev/null`, which stands for Kryoptic's module built elsewhere).
fn install_missing(kind: Kind, missing: &[String]) -> Result<()> {
    let missing: Vec<&String> = missing.iter().filter(|m| *m != "/dev/null").collect();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!(
        "xtask: {kind} is not set up (missing: {}); installing {}",
        missing
            .iter()
            .map(|m| m.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        kind.packages().join(" ")
    );
    crate::softhsm::apt_install(kind.packages())
}

/// Kryoptic's module, built when it is not in `target/pkcs11-modules/kryoptic/` yet.
fn kryoptic() -> Result<PathBuf> {
    let dir = root()
        .join("target")
        .join("pkcs11-modules")
        .join("kryoptic");
    let module = dir.join(format!("libkryoptic_pkcs11-{KRYOPTIC_VERSION}.so"));
    if module.is_file() {
        return Ok(module);
    }
    let t = Instant::now();
    if !Path::new("/usr/include/openssl/evp.h").is_file() || !libclang_installed() {
        crate::softhsm::apt_install(&KRYOPTIC_BUILD_PACKAGES)?;
    }
    // Fetch the release's sources through a throw-away package that depends on it.
    let fetch = dir.join("fetch");
    std::fs::create_dir_all(fetch.join("src"))
        .with_context(|| format!("cannot create {}", fetch.display()))?;
    std::fs::write(
        fetch.join("Cargo.toml"),
        format!(
            "# Written by `cargo xtask modules`: fetches Kryoptic's sources, builds nothing.\n\
             [package]\nname = \"kryoptic-fetch\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\
             publish = false\n\n[workspace]\n\n[dependencies]\n\
             kryoptic = {{ version = \"={KRYOPTIC_VERSION}\", default-features = false }}\n"
        ),
    )
    .context("cannot write the fetch manifest")?;
    std::fs::write(fetch.join("src").join("lib.rs"), "").context("cannot write lib.rs")?;
    let manifest = fetch.join("Cargo.toml");
    run_cmd(cargo().arg("fetch").arg("--manifest-path").arg(&manifest))?;
    let sources = kryoptic_sources(&manifest)?;
    // Its own lock file (`--locked`), its own target folder (not the workspace's).
    run_cmd(
        cargo()
            .args([
                "build",
                "--release",
                "--locked",
                "--lib",
                "--no-default-features",
                "--features",
                "kryoptic-lib/dynamic,minimal",
                "--manifest-path",
            ])
            .arg(sources.join("Cargo.toml"))
            .arg("--target-dir")
            .arg(dir.join("build")),
    )
    .context("cannot build Kryoptic")?;
    let built = dir
        .join("build")
        .join("release")
        .join("libkryoptic_pkcs11.so");
    std::fs::copy(&built, &module)
        .with_context(|| format!("cannot copy {} to {}", built.display(), module.display()))?;
    eprintln!(
        "xtask: Kryoptic {KRYOPTIC_VERSION} built in {:.0?}: {}",
        t.elapsed(),
        module.display()
    );
    Ok(module)
}

/// The folder of Kryoptic's fetched sources, from `cargo metadata`.
fn kryoptic_sources(manifest: &Path) -> Result<PathBuf> {
    let out = cargo()
        .args(["metadata", "--format-version", "1", "--manifest-path"])
        .arg(manifest)
        .stderr(Stdio::inherit())
        .output()
        .context("cannot run cargo metadata")?;
    if !out.status.success() {
        bail!("cargo metadata failed on {}", manifest.display());
    }
    let meta: serde_json::Value =
        serde_json::from_slice(&out.stdout).context("cargo metadata printed no JSON")?;
    meta["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == "kryoptic" && p["version"] == KRYOPTIC_VERSION)
        .and_then(|p| p["manifest_path"].as_str())
        .and_then(|m| Path::new(m).parent())
        .map(Path::to_path_buf)
        .with_context(|| format!("cargo metadata does not list kryoptic {KRYOPTIC_VERSION}"))
}

/// Whether libclang (for bindgen) is installed.
fn libclang_installed() -> bool {
    Command::new("sh")
        .args([
            "-c",
            "ls /usr/lib/*/libclang*.so* /usr/lib/llvm-*/lib/libclang*.so* 2>/dev/null | grep -q .",
        ])
        .status()
        .is_ok_and(|s| s.success())
}
