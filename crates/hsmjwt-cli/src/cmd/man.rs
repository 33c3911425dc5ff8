//! `hsmjwt man --out-dir DIR` (`cargo xtask man` runs it): the man pages, from the same
//! clap definitions as the parser (`clap_mangen`). One page for `hsmjwt` and one per
//! subcommand, nested ones included (`hsmjwt-sign.1`, `hsmjwt-ims-jwt.1`). A command of the
//! binary rather than of xtask alone: `cargo install` installs no man pages, and this way a
//! user can write them where `man` finds them.
//!
//! clap_mangen's sections are used as they are, except for the text after the options
//! (`after_help`: examples, exit statuses): each block of it becomes a section of its own,
//! named by its first line (`Examples:` gives EXAMPLES), its lines kept as written (roff's
//! no-fill mode) rather than joined into one paragraph.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, CommandFactory};
use clap_mangen::Man;
use roff::{Roff, roman};

use crate::args::Cli;

/// Arguments of `hsmjwt man`.
#[derive(Debug, Args)]
pub(crate) struct ManArgs {
    /// The folder to write the pages to (made when missing).
    #[arg(long, value_name = "DIR")]
    out_dir: PathBuf,
}

pub(crate) fn run(a: &ManArgs) -> Result<ExitCode> {
    std::fs::create_dir_all(&a.out_dir)
        .with_context(|| format!("cannot create {}", a.out_dir.display()))?;
    let mut cmd = Cli::command().disable_help_subcommand(true);
    // Building names the subcommands `hsmjwt-ims-jwt` and so on.
    cmd.build();
    let mut written = Vec::new();
    write_pages(&cmd, &a.out_dir, &mut written)?;
    for path in written {
        super::out(&path.display().to_string())?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes the page of `cmd` and of each of its visible subcommands, depth first.
fn write_pages(cmd: &clap::Command, dir: &Path, written: &mut Vec<PathBuf>) -> Result<()> {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(sub, dir, written)?;
    }
    let man = Man::new(cmd.clone()).source(concat!("hsmjwt ", env!("CARGO_PKG_VERSION")));
    let path = dir.join(man.get_filename());
    let mut page = Vec::new();
    render(&man, cmd, &mut page)?;
    std::fs::write(&path, page).with_context(|| format!("cannot write {}", path.display()))?;
    written.push(path);
    Ok(())
}

fn render(man: &Man, cmd: &clap::Command, w: &mut dyn Write) -> std::io::Result<()> {
    man.render_title(w)?;
    man.render_name_section(w)?;
    man.render_synopsis_section(w)?;
    man.render_description_section(w)?;
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(w)?;
    }
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        man.render_subcommands_section(w)?;
    }
    if let Some(text) = cmd.get_after_help() {
        sections(&text.to_string()).to_writer(w)?;
    }
    if cmd.get_version().is_some() {
        man.render_version_section(w)?;
    }
    Ok(())
}

/// `after_help` as man page sections: each block (separated by a blank line) is a section
/// named by its first line when that ends with `:`, else NOTES; lines kept as they are.
fn sections(text: &str) -> Roff {
    let mut roff = Roff::new();
    for block in text.split("\n\n").filter(|b| !b.trim().is_empty()) {
        let mut lines = block.lines().peekable();
        let heading = match lines.peek().and_then(|l| l.strip_suffix(':')) {
            Some(h) if !h.starts_with(' ') => {
                lines.next();
                h.to_uppercase()
            }
            _ => "NOTES".to_owned(),
        };
        roff.control("SH", [heading.as_str()]).control("nf", []);
        for line in lines {
            roff.text([roman(line)]);
        }
        roff.control("fi", []);
    }
    roff
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_help_blocks_become_sections_with_their_lines_kept() {
        let roff =
            sections("Examples:\n  hsmjwt a \\\n    --b\n  hsmjwt c\n\nno heading here").render();
        assert!(
            roff.ends_with(
                ".SH EXAMPLES\n.nf\n  hsmjwt a \\\\\n    \\-\\-b\n  hsmjwt c\n.fi\n\
             .SH NOTES\n.nf\nno heading here\n.fi\n"
            ),
            "{roff}"
        );
    }
}
