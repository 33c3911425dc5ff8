//! Named pipes (FIFOs) that feed a test's input: a file whose size its metadata does not
//! tell, for code that must bound what it reads while reading.

use std::io::Write;
use std::path::Path;
use std::process::Command;

use crate::error::Error;

/// Makes a FIFO at `path` (with `mkfifo`) and a thread that, once a reader opens it, writes
/// `content` into it and closes it, so that the reader sees its end. A reader that stops
/// early ends the thread (the write fails); a FIFO nobody opens keeps the thread waiting
/// until the process ends. It feeds one reader: a second open for reading waits for ever
/// for a writer, so give each read its own FIFO.
///
/// # Errors
/// [`Error::Spawn`] when `mkfifo` cannot be started, [`Error::Tool`] when it fails.
pub fn fifo(path: &Path, content: Vec<u8>) -> Result<(), Error> {
    let mut mkfifo = Command::new("mkfifo");
    mkfifo.arg("-m").arg("600").arg(path);
    let out = mkfifo.output().map_err(|source| Error::Spawn {
        program: "mkfifo".to_owned(),
        source,
    })?;
    if !out.status.success() {
        return Err(Error::Tool {
            command: format!("mkfifo -m 600 {}", path.display()),
            status: out.status,
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    let path = path.to_owned();
    std::thread::spawn(move || {
        if let Ok(mut writer) = std::fs::OpenOptions::new().write(true).open(&path) {
            // A reader that stops before the end makes this fail: that is its business.
            let _ = writer.write_all(&content);
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fifo_gives_its_content_then_ends() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("pipe");
        fifo(&path, b"through a pipe".to_vec())?;
        assert!(std::fs::metadata(&path)?.len() == 0, "a FIFO tells no size");
        assert_eq!(std::fs::read(&path)?, b"through a pipe");
        Ok(())
    }
}
