//! Loopback TCP ports for tests: one that refuses every connection for as long as the test
//! holds it, and a check for a listener that a connection to itself cannot fool.
//!
//! A port taken with `bind(0)` and let go is not a safe "nobody listens here": another
//! process may bind it, and with nothing listening Linux may even pick that very port as a
//! connection's source port and connect the socket to itself (a TCP simultaneous open),
//! which then looks like a server. Seen here once in about 40 000 connections.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpStream};
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};

use crate::Error;

/// A port on `127.0.0.1` that refuses connections while this value lives: bound (so no
/// other socket, and no connection's source port, can take it) but not listening.
#[derive(Debug)]
pub struct RefusingPort {
    port: u16,
    _socket: Socket,
}

impl RefusingPort {
    /// Binds a free port on `127.0.0.1` without listening on it.
    ///
    /// # Errors
    /// [`Error::Io`] when no socket can be made or bound.
    pub fn new() -> Result<Self, Error> {
        let io = |e| Error::io("bind a TCP port on", "127.0.0.1", e);
        let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).map_err(io)?;
        socket
            .bind(&SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0).into())
            .map_err(io)?;
        let port = socket
            .local_addr()
            .map_err(io)?
            .as_socket()
            .map(|a| a.port())
            .ok_or_else(|| io(std::io::Error::other("not an IP socket address")))?;
        Ok(Self {
            port,
            _socket: socket,
        })
    }

    /// The port.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT`, a base URL no server answers.
    #[must_use]
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// Whether something accepts TCP connections on `127.0.0.1:port`, asking at most `timeout`.
/// A connection whose own port is `port` (connected to itself) does not count.
#[must_use]
pub fn accepts(port: u16, timeout: Duration) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpStream::connect_timeout(&addr, timeout)
        .is_ok_and(|s| s.local_addr().is_ok_and(|local| local != addr))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusing_port_refuses_and_cannot_be_taken() {
        let refusing = RefusingPort::new().unwrap();
        let port = refusing.port();
        for _ in 0..200 {
            let e = TcpStream::connect(("127.0.0.1", port)).unwrap_err();
            assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused);
        }
        let taken = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap_err();
        assert_eq!(taken.kind(), std::io::ErrorKind::AddrInUse);
        assert!(!accepts(port, Duration::from_millis(200)));
        assert_eq!(refusing.url(), format!("http://127.0.0.1:{port}"));
    }

    #[test]
    fn a_listener_is_seen() {
        let l = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = l.local_addr().unwrap().port();
        assert!(accepts(port, Duration::from_millis(200)));
    }
}
