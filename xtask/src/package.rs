//! `cargo xtask package`: every crate the workspace publishes packages and builds as it
//! would from crates.io (a step of `cargo xtask ci`).
//!
//! The publishable crates are the workspace members without `publish = false`, as
//! `cargo metadata` reports them: a crate that starts or stops being published needs no
//! change here. For each, two checks:
//!
//! 1. the crates.io metadata is there and valid: `description`, `license`, `repository`, a
//!    `readme` file that exists, `documentation = "https://docs.rs/NAME"` for a library (a
//!    binary-only crate has no docs.rs page), 1 to 5 `categories`, and 1 to 5 `keywords`
//!    that crates.io accepts (ASCII letters, digits, `-`, `_`, `+`, starting with a letter or
//!    digit, at most 20 characters). crates.io checks these only at upload, which no dry
//!    run reaches. Category slugs are not checked (their list lives on crates.io, which
//!    ignores an unknown one with a warning).
//! 2. `cargo package --locked --allow-dirty -p A -p B ...`, all of them in one run: cargo
//!    packages them in dependency order and resolves their dependencies on each other
//!    through a temporary local registry (they are not on crates.io), then verifies each
//!    `.crate` by building it unpacked, alone, with its own feature set. That catches a path
//!    dependency without a `version`, a file its build needs that is not in the package, a
//!    feature a crate uses but only a sibling enables in the workspace, and (`--locked`) a
//!    `Cargo.lock` that is not up to date. Packaging one crate at a time (`-p X` alone)
//!    fails for every crate that depends on another of ours (cargo looks for the sibling on
//!    crates.io), and `cargo publish --dry-run --workspace` does the same packaging and
//!    verification, stops before the upload (where crates.io's own checks are), and refuses
//!    to run offline.
//!
//! `--allow-dirty` always: CI runs on a fresh clone, where it changes nothing, and a
//! developer running `cargo xtask ci` with uncommitted changes gets the check of the
//! working tree (what the other steps test too) instead of a refusal.
//!
//! Before packaging, what a previous run left is removed, because cargo would use it
//! although our sources changed (our crates keep one version, 0.1.0): the temporary
//! registry (`target/package`), cargo's unpacked copies of our crates from it
//! (`$CARGO_HOME/registry/src/*/NAME-VERSION`: a registry crate is unpacked once, never
//! again), and the build of our crates (`cargo clean -p`: cargo treats a registry crate of
//! the same version as unchanged and would link the old build). Without this, the second
//! run verifies each crate against the first run's copies of its siblings: a real break
//! passes, or a fixed one still fails. The clean-up makes the workspace's own builds of
//! our crates rebuild next time too (`cargo clean -p` goes by name); dependencies stay.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use crate::{cargo, root, run_cmd};

/// crates.io's limit on keywords and on categories per crate.
const MAX_TAGS: usize = 5;
/// crates.io's limit on the length of a keyword.
const MAX_KEYWORD_LEN: usize = 20;

/// What `cargo metadata --no-deps` says about the workspace.
#[derive(Debug, Deserialize)]
struct Metadata {
    packages: Vec<Package>,
    /// Where cargo builds (and stages `cargo package`'s temporary registry).
    build_directory: PathBuf,
}

/// One workspace member, with the fields this check reads.
#[derive(Debug, Deserialize)]
struct Package {
    name: String,
    version: String,
    /// `None`: any registry; `Some([])`: `publish = false`.
    publish: Option<Vec<String>>,
    description: Option<String>,
    license: Option<String>,
    repository: Option<String>,
    readme: Option<PathBuf>,
    documentation: Option<String>,
    #[serde(default)]
    keywords: Vec<String>,
    #[serde(default)]
    categories: Vec<String>,
    manifest_path: PathBuf,
    targets: Vec<Target>,
}

#[derive(Debug, Deserialize)]
struct Target {
    kind: Vec<String>,
}

impl Package {
    fn publishable(&self) -> bool {
        self.publish
            .as_ref()
            .is_none_or(|registries| !registries.is_empty())
    }

    fn has_library(&self) -> bool {
        self.targets
            .iter()
            .flat_map(|t| &t.kind)
            .any(|k| matches!(k.as_str(), "lib" | "rlib" | "proc-macro"))
    }

    /// What is missing or invalid in the crates.io metadata, one line each.
    fn metadata_problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let mut need = |field: &str, value: &Option<String>| {
            if value.as_deref().is_none_or(|v| v.trim().is_empty()) {
                problems.push(format!("no `{field}`"));
            }
        };
        need("description", &self.description);
        need("license", &self.license);
        need("repository", &self.repository);
        let dir = self.manifest_path.parent().unwrap_or(Path::new("."));
        match &self.readme {
            None => problems.push("no `readme`".to_owned()),
            Some(readme) if !dir.join(readme).is_file() => {
                problems.push(format!("`readme` {} does not exist", readme.display()));
            }
            Some(_) => {}
        }
        let docs_rs = format!("https://docs.rs/{}", self.name);
        match (&self.documentation, self.has_library()) {
            (Some(url), true) if *url != docs_rs => {
                problems.push(format!("`documentation` is {url}, not {docs_rs}"));
            }
            (None, true) => problems.push(format!("no `documentation` (use {docs_rs})")),
            _ => {}
        }
        for (field, list) in [
            ("keywords", &self.keywords),
            ("categories", &self.categories),
        ] {
            if list.is_empty() || list.len() > MAX_TAGS {
                problems.push(format!(
                    "{} {field}: crates.io takes 1 to {MAX_TAGS}",
                    list.len()
                ));
            }
        }
        problems.extend(
            self.keywords
                .iter()
                .filter(|k| !valid_keyword(k))
                .map(|k| format!("keyword `{k}` is not one crates.io accepts")),
        );
        problems
    }
}

/// crates.io's rule for a keyword: ASCII letters, digits, `-`, `_` or `+`, starting with a
/// letter or digit, 1 to 20 characters.
fn valid_keyword(keyword: &str) -> bool {
    keyword.len() <= MAX_KEYWORD_LEN
        && keyword
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && keyword
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '+'))
}

/// `cargo metadata --no-deps`, keeping only the workspace members that may be published.
fn publishable() -> Result<Metadata> {
    let mut cmd = cargo();
    cmd.args(["metadata", "--format-version", "1", "--no-deps", "--locked"])
        .current_dir(root());
    let out = cmd.output().context("cannot start cargo metadata")?;
    if !out.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let mut metadata: Metadata =
        serde_json::from_slice(&out.stdout).context("cannot read cargo metadata's output")?;
    metadata.packages.retain(Package::publishable);
    Ok(metadata)
}

/// The checks of the module documentation, for every publishable crate.
///
/// # Errors
/// Names every crate whose metadata is incomplete or invalid; fails when `cargo package`
/// fails for any crate, or when the workspace publishes nothing (a check of nothing).
pub(crate) fn check() -> Result<()> {
    let metadata = publishable()?;
    let packages = &metadata.packages;
    if packages.is_empty() {
        bail!("cargo metadata lists no publishable crate");
    }
    let problems: Vec<String> = packages
        .iter()
        .flat_map(|p| {
            p.metadata_problems()
                .into_iter()
                .map(move |problem| format!("{}: {problem}", p.name))
        })
        .collect();
    if !problems.is_empty() {
        bail!("crates.io metadata:\n  {}", problems.join("\n  "));
    }
    let names: Vec<&str> = packages.iter().map(|p| p.name.as_str()).collect();
    forget_previous_run(&metadata.build_directory, packages)?;
    eprintln!("xtask: packaging {}", names.join(", "));
    run_cmd(&mut package_command(&names))
}

/// Removes what an earlier `cargo package` of these crates left for the next one to
/// reuse: see the module documentation.
fn forget_previous_run(build_dir: &Path, packages: &[Package]) -> Result<()> {
    remove_dir(&build_dir.join("package"))?;
    let unpacked = cargo_home()?.join("registry").join("src");
    if let Ok(registries) = std::fs::read_dir(&unpacked) {
        for registry in registries {
            let registry = registry
                .with_context(|| format!("cannot list {}", unpacked.display()))?
                .path();
            for p in packages {
                remove_dir(&registry.join(format!("{}-{}", p.name, p.version)))?;
            }
        }
    }
    let mut clean = cargo();
    clean.arg("clean");
    for p in packages {
        clean.args(["-p", &p.name]);
    }
    run_cmd(&mut clean)
}

/// Removes a directory tree; nothing to do when it does not exist.
fn remove_dir(dir: &Path) -> Result<()> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("cannot remove {}", dir.display()))
        }
        _ => Ok(()),
    }
}

/// `$CARGO_HOME`, by default `~/.cargo`.
fn cargo_home() -> Result<PathBuf> {
    if let Some(home) = std::env::var_os("CARGO_HOME") {
        return Ok(PathBuf::from(home));
    }
    std::env::var_os("HOME")
        .map(|home| PathBuf::from(home).join(".cargo"))
        .context("neither $CARGO_HOME nor $HOME is set")
}

/// `cargo package --locked --allow-dirty -p A -p B ...`, with verification.
fn package_command(names: &[&str]) -> Command {
    let mut cmd = cargo();
    cmd.args(["package", "--locked", "--allow-dirty"]);
    for name in names {
        cmd.args(["-p", name]);
    }
    cmd
}

/// `cargo xtask package`: [`check`] alone.
pub(crate) fn run(args: &[String]) -> Result<()> {
    if let Some(arg) = args.first() {
        bail!("`cargo xtask package` takes no arguments, got `{arg}`");
    }
    check()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package(name: &str, toml_fields: serde_json::Value) -> Package {
        let mut json = serde_json::json!({
            "name": name,
            "version": "0.1.0",
            "publish": null,
            "description": "d",
            "license": "MIT",
            "repository": "https://example.invalid/r",
            "readme": "Cargo.toml",
            "documentation": format!("https://docs.rs/{name}"),
            "keywords": ["jwt"],
            "categories": ["cryptography"],
            "manifest_path": concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"),
            "targets": [{"kind": ["lib"]}],
        });
        if let (Some(base), Some(extra)) = (json.as_object_mut(), toml_fields.as_object()) {
            base.extend(extra.clone());
        }
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn keywords_as_crates_io_takes_them() {
        for ok in [
            "jwt",
            "pkcs11",
            "private-key-jwt",
            "a_b",
            "c++",
            "12345678901234567890",
        ] {
            assert!(valid_keyword(ok), "{ok}");
        }
        for bad in [
            "",
            "-jwt",
            "_x",
            "JSON Web",
            "jwt!",
            "é",
            "123456789012345678901",
        ] {
            assert!(!valid_keyword(bad), "{bad}");
        }
    }

    #[test]
    fn complete_metadata_has_no_problem() {
        assert_eq!(
            package("x", serde_json::json!({})).metadata_problems(),
            Vec::<String>::new()
        );
        // A binary-only crate needs no docs.rs link.
        let bin = package(
            "x-cli",
            serde_json::json!({"documentation": null, "targets": [{"kind": ["bin"]}]}),
        );
        assert_eq!(bin.metadata_problems(), Vec::<String>::new());
    }

    #[test]
    fn every_problem_is_named() {
        let p = package(
            "x",
            serde_json::json!({
                "description": null,
                "license": " ",
                "repository": null,
                "readme": "NO-SUCH-README.md",
                "documentation": "https://docs.rs/y",
                "keywords": ["a", "b", "c", "d", "e", "Bad Word"],
                "categories": [],
            }),
        );
        assert_eq!(
            p.metadata_problems(),
            [
                "no `description`",
                "no `license`",
                "no `repository`",
                "`readme` NO-SUCH-README.md does not exist",
                "`documentation` is https://docs.rs/y, not https://docs.rs/x",
                "6 keywords: crates.io takes 1 to 5",
                "0 categories: crates.io takes 1 to 5",
                "keyword `Bad Word` is not one crates.io accepts",
            ]
        );
        let no_docs = package(
            "x",
            serde_json::json!({"documentation": null, "readme": null}),
        );
        assert_eq!(
            no_docs.metadata_problems(),
            ["no `readme`", "no `documentation` (use https://docs.rs/x)"]
        );
    }

    #[test]
    fn publish_false_is_left_out() {
        assert!(package("x", serde_json::json!({})).publishable());
        assert!(package("x", serde_json::json!({"publish": ["crates-io"]})).publishable());
        assert!(!package("x", serde_json::json!({"publish": []})).publishable());
    }

    #[test]
    fn the_command_packages_all_crates_in_one_run_with_verification() {
        let cmd = package_command(&["a", "b"]);
        let args: Vec<_> = cmd
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args,
            ["package", "--locked", "--allow-dirty", "-p", "a", "-p", "b"]
        );
    }
}
