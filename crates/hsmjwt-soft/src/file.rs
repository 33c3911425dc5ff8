//! Reading key, certificate and JWK Set files with a size bound that holds while reading.
//!
//! A size taken from the file's metadata is no bound: a pipe, a FIFO or a device such as
//! `/dev/zero` reports none and never ends. These functions stop reading one byte past the
//! limit and refuse the input with [`Error::TooLarge`], which names the file and the limit.
//! What they read lands in buffers that are wiped when dropped, growing ones included.

use std::io::Read;
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
