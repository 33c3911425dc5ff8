//! Reading key, certificate and JWK Set files with a size bound that holds while reading.
//!
//! A size taken from the file's metadata is no bound: a pipe, a FIFO or a device such as
//! `/dev/zero` reports none and never ends. These functions stop reading one byte past the
//! limit and refuse the input with [`Error::TooLarge`], which names the file and the limit.
//! What they read lands in buffers that are wiped when dropped, growing ones included.

use std::io::{Read, Write};
use std::path::Path;

use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// Largest private or public key file read (PEM, DER or JWK): 1 MiB. An RSA-8192 PKCS#8
/// PEM is under 7 KiB.
pub const MAX_KEY_FILE: u64 = 1 << 20;

/// Largest certificate (chain) file read: 1 MiB.
pub const MAX_CERTIFICATE_FILE: u64 = 1 << 20;

/// Largest JWK Set file read: 1 MiB.
pub const MAX_JWKS_FILE: u64 = 1 << 20;

/// Writes `contents` (a private key, a credentials file) to `path` with file mode 0600 (on
/// Unix), synced to the disk before returning.
///
/// Without `overwrite`, nothing that exists at `path` is touched (a file, a link, even a
/// dangling one). With it, an existing regular file is truncated and its mode set to
/// 0600 before it is written; a symbolic link is followed and its target written
/// the same way (the link stays), but only when that target is an existing regular
/// file: a dangling link (whose target a write would create wherever it points) and
/// anything that is not a regular file (a directory, a device such as `/dev/null`,
/// whose mode would change for everyone, a FIFO) are refused.
///
/// # Errors
/// [`Error::AlreadyExists`] when the path exists and `overwrite` is false;
/// [`Error::NotRegularFile`] when, with `overwrite`, it is or leads to something other
/// than a regular file; [`Error::Io`] when it cannot be created, restricted or written.
pub fn write_private_file(path: &Path, contents: &[u8], overwrite: bool) -> Result<()> {
    let io = |action: &'static str| {
        move |source| Error::Io {
            action,
            path: path.to_owned(),
            source,
        }
    };
    let exists = match std::fs::symlink_metadata(path) {
        Ok(_) => true,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => return Err(io("inspect")(e)),
    };
    let mut file = if overwrite && exists {
        open_regular_file(path)?
    } else {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        options.open(path).map_err(|source| {
            if source.kind() == std::io::ErrorKind::AlreadyExists {
                Error::AlreadyExists {
                    path: path.to_owned(),
                }
            } else {
                io("create")(source)
            }
        })?
    };
    #[cfg(unix)]
    {
        // The mode given to open() applies only to a new file (and is reduced by the
        // umask); an overwritten file keeps its old mode unless it is set here.
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(io("set permissions on"))?;
    }
    file.set_len(0).map_err(io("truncate"))?;
    file.write_all(contents).map_err(io("write"))?;
    file.sync_all().map_err(io("write"))?;
    Ok(())
}

/// Overwrites the regular file at `path` with zeros (its whole length, synced to the disk)
/// and removes it: for a file that held a private key once the key lives elsewhere.
///
/// On journaling, copy-on-write and log-structured file systems, on SSDs and under
/// snapshots or backups, the old contents may survive elsewhere: overwriting in place
/// cannot be guaranteed to destroy them. Say so to users.
///
/// # Errors
/// [`Error::NotRegularFile`] for anything but a regular file (a symbolic link is refused
/// too: its target would be wiped while the link is removed); [`Error::Io`] when it cannot
/// be opened, written or removed.
pub fn overwrite_and_remove(path: &Path) -> Result<()> {
    let io = |action: &'static str| {
        move |source| Error::Io {
            action,
            path: path.to_owned(),
            source,
        }
    };
    let meta = std::fs::symlink_metadata(path).map_err(io("inspect"))?;
    if meta.file_type().is_symlink() {
        return Err(Error::NotRegularFile {
            path: path.to_owned(),
            found: "a symbolic link",
        });
    }
    let mut file = open_regular_file(path)?;
    let len = file.metadata().map_err(io("inspect"))?.len();
    let zeros = [0u8; 8192];
    let mut left = len;
    while left > 0 {
        let n = usize::try_from(left.min(zeros.len() as u64)).unwrap_or(zeros.len());
        file.write_all(&zeros[..n]).map_err(io("overwrite"))?;
        left -= n as u64;
    }
    file.sync_all().map_err(io("overwrite"))?;
    drop(file);
    std::fs::remove_file(path).map_err(io("remove"))
}

/// Opens the existing regular file at `path` (through a symbolic link) for writing, without
/// creating, truncating or changing anything yet: [`Error::NotRegularFile`] for anything
/// else, checked before opening (opening a FIFO would block) and again on the opened file
/// (the path may have changed in between).
pub(crate) fn open_regular_file(path: &Path) -> Result<std::fs::File> {
    let refuse = |found: &'static str| Error::NotRegularFile {
        path: path.to_owned(),
        found,
    };
    let io = |action: &'static str| {
        move |source| Error::Io {
            action,
            path: path.to_owned(),
            source,
        }
    };
    let via_link = std::fs::symlink_metadata(path)
        .map_err(io("inspect"))?
        .file_type()
        .is_symlink();
    let target = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(refuse("a symbolic link to nothing"));
        }
        Err(e) => return Err(io("inspect")(e)),
    };
    if !target.is_file() {
        return Err(refuse(file_kind(&target.file_type(), via_link)));
    }
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(io("open"))?;
    let opened = file.metadata().map_err(io("inspect"))?;
    if !opened.is_file() {
        return Err(refuse(file_kind(&opened.file_type(), via_link)));
    }
    Ok(file)
}

/// What a file that is not a regular file is (reached `via_link` or not), for
/// [`Error::NotRegularFile`].
fn file_kind(kind: &std::fs::FileType, via_link: bool) -> &'static str {
    let mut what = if kind.is_dir() { "directory" } else { "" };
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_block_device() || kind.is_char_device() {
            what = "device";
        } else if kind.is_fifo() {
            what = "FIFO";
        } else if kind.is_socket() {
            what = "socket";
        }
    }
    match (via_link, what) {
        (false, "directory") => "a directory",
        (false, "device") => "a device",
        (false, "FIFO") => "a FIFO",
        (false, "socket") => "a socket",
        (false, _) => "not a regular file",
        (true, "directory") => "a symbolic link to a directory",
        (true, "device") => "a symbolic link to a device",
        (true, "FIFO") => "a symbolic link to a FIFO",
        (true, "socket") => "a symbolic link to a socket",
        (true, _) => "a symbolic link to something other than a regular file",
    }
}

/// The first buffer's size; it doubles as the input grows, up to the limit.
const FIRST_BUFFER: usize = 8 * 1024;

/// Reads the file `path` whole, refusing it when it holds more than `limit` bytes. `what`
/// says what it is for the message, in the plural ("key files").
///
/// ```
/// use hsmjwt_soft::file::{read_file, MAX_KEY_FILE};
/// use hsmjwt_soft::Error;
///
/// let e = read_file("/dev/zero".as_ref(), MAX_KEY_FILE, "key files").unwrap_err();
/// assert!(matches!(e, Error::TooLarge { .. }));
/// assert_eq!(e.to_string(), "/dev/zero is larger than the 1 MiB limit for key files");
/// ```
///
/// # Errors
/// [`Error::Io`] naming the file when it cannot be opened or read, [`Error::TooLarge`] when
/// it holds more than `limit` bytes.
pub fn read_file(path: &Path, limit: u64, what: &'static str) -> Result<Zeroizing<Vec<u8>>> {
    let file = std::fs::File::open(path).map_err(|source| Error::Io {
        action: "read",
        path: path.to_owned(),
        source,
    })?;
    read_limited(file, &path.display().to_string(), limit, what)
}

/// Reads `reader` (a file, stdin, a pipe) to its end, refusing it as soon as it has given
/// more than `limit` bytes: the rest is not read. `name` names the input in messages
/// ("stdin", a path) and `what` says what it is, in the plural ("tokens"). The buffer, and
/// every smaller one it grew from, is wiped on drop.
///
/// ```
/// use hsmjwt_soft::file::read_limited;
///
/// let e = read_limited(std::io::repeat(b'x'), "stdin", 4096, "PIN files").unwrap_err();
/// assert_eq!(e.to_string(), "stdin is larger than the 4 KiB limit for PIN files");
/// let read = read_limited(&b"eyJ..."[..], "stdin", 4096, "tokens")?;
/// assert_eq!(read.as_slice(), b"eyJ...");
/// # Ok::<(), hsmjwt_soft::Error>(())
/// ```
///
/// # Errors
/// [`Error::Io`] with the reader's error (`Interrupted` is retried), [`Error::TooLarge`].
pub fn read_limited(
    mut reader: impl Read,
    name: &str,
    limit: u64,
    what: &'static str,
) -> Result<Zeroizing<Vec<u8>>> {
    // One byte past the limit tells "exactly the limit" from "more".
    let most = usize::try_from(limit.saturating_add(1)).unwrap_or(usize::MAX);
    let too_large = || Error::TooLarge {
        name: name.to_owned(),
        limit,
        what,
    };
    let mut buf = Zeroizing::new(vec![0u8; FIRST_BUFFER.min(most)]);
    let mut filled = 0;
    loop {
        if filled == buf.len() {
            if filled >= most {
                return Err(too_large());
            }
            // Grow into a new buffer: the old one is wiped when it is dropped, which
            // `Vec`'s own reallocation would not do.
            let mut bigger = Zeroizing::new(vec![0u8; buf.len().saturating_mul(2).min(most)]);
            bigger[..filled].copy_from_slice(&buf[..filled]);
            buf = bigger;
        }
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(source) => {
                return Err(Error::Io {
                    action: "read",
                    path: name.into(),
                    source,
                });
            }
        }
    }
    if filled >= most {
        return Err(too_large());
    }
    buf.truncate(filled);
    Ok(buf)
}

/// A size in bytes as people read limits: `1 MiB`, `4 KiB`, or `100 bytes`.
pub(crate) fn human_size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that never ends, counting what it gave.
    struct Endless(u64);

    impl Read for Endless {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            buf.fill(b'x');
            self.0 += buf.len() as u64;
            Ok(buf.len())
        }
    }

    #[test]
    fn reads_up_to_the_limit_and_stops_one_byte_past_it() -> Result<()> {
        let read = |bytes: &[u8], limit| read_limited(bytes, "input", limit, "tests");
        for limit in [0, 1, 100, 8191, 8192, 8193, 100_000] {
            let len = usize::try_from(limit).unwrap_or(usize::MAX);
            let exact = vec![7u8; len];
            assert_eq!(read(&exact, limit)?.as_slice(), exact.as_slice());
            let over = vec![7u8; len + 1];
            assert!(
                matches!(read(&over, limit), Err(Error::TooLarge { limit: l, .. }) if l == limit),
                "{limit}"
            );
        }
        let mut endless = Endless(0);
        let e = read_limited(&mut endless, "stdin", 1 << 20, "tokens");
        assert!(matches!(e, Err(Error::TooLarge { .. })), "{e:?}");
        assert!(endless.0 <= (1 << 20) + 1, "read {} bytes", endless.0);
        Ok(())
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human_size(1 << 20), "1 MiB");
        assert_eq!(human_size(4096), "4 KiB");
        assert_eq!(human_size(68 * 1024), "68 KiB");
        assert_eq!(human_size(1000), "1000 bytes");
        assert_eq!(human_size(0), "0 bytes");
    }
}
