//! A client of the agent's socket, for scripts (`hsmjwt agent token`, `hsmjwt agent sign`)
//! and tests ([`request`]: one HTTP/1.1 request per connection), and applications that ask
//! often ([`Connection`]: one connection kept open); hyper over a Unix stream.

use std::path::{Path, PathBuf};
use std::time::Duration;

use http_body_util::{BodyExt as _, Full, Limited};
use hyper::Request;
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;

/// The HTTP method of a [`request`].
pub use hyper::Method;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::UnixStream;

use crate::Error;

/// The largest response read.
const MAX_RESPONSE: usize = 1 << 20;

/// How long one request may take in all.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// One response: the status and the JSON body.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// `Cache-Control`, when the agent set it.
    pub cache_control: Option<String>,
    /// The body (JSON for the API's answers, text for `/metrics`).
    pub body: Bytes,
}

impl Reply {
    /// The body as JSON.
    ///
    /// # Errors
    /// [`Error::Agent`] when it is not JSON.
    pub fn json(&self) -> Result<Value, Error> {
        serde_json::from_slice(&self.body).map_err(|_| Error::Agent {
            status: self.status,
            message: "the answer is not JSON".to_owned(),
        })
    }

    /// The JSON body of a 200 answer, else [`Error::Agent`] with the agent's message.
    ///
    /// # Errors
    /// [`Error::Agent`] for any other status, or a body that is not JSON.
    pub fn ok_json(&self) -> Result<Value, Error> {
        let json = self.json()?;
        if self.status == 200 {
            return Ok(json);
        }
        let message = json["message"].as_str().unwrap_or("no message");
        Err(Error::Agent {
            status: self.status,
            message: hsmjwt::core::text::clean(message, 512),
        })
    }
}

/// The path of the token `name` (`GET`): `/v1/tokens/NAME`, the name percent-encoded.
#[must_use]
pub fn token_path(name: &str) -> String {
    format!("/v1/tokens/{}", segment(name))
}

/// The path of signing under `profile` (`POST`): `/v1/sign/PROFILE`, percent-encoded.
#[must_use]
pub fn sign_path(profile: &str) -> String {
    format!("/v1/sign/{}", segment(profile))
}

/// `text` as one path segment: every byte but the unreserved characters percent-encoded.
fn segment(text: &str) -> String {
    /// RFC 3986's unreserved characters stay as they are.
    const ESCAPED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(text, ESCAPED).to_string()
}

/// Sends `method path` with an optional JSON `body` to the agent on `socket`, on a
/// connection of its own (closed after the answer).
///
/// # Errors
/// [`Error::Socket`] when the socket cannot be reached, the exchange fails or takes longer
/// than [`REQUEST_TIMEOUT`].
pub async fn request(
    socket: &Path,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> Result<Reply, Error> {
    Connection::new(socket).request(method, path, body).await
}

/// A connection to the agent kept open for many requests (HTTP/1.1 keep-alive), as an
/// application that asks often holds it: no connect and handshake per request. Made on
/// the first request, and again when the agent has closed it (a reload, a stop, an idle
/// timeout). One request at a time; clone the socket path for more connections.
#[derive(Debug)]
pub struct Connection {
    socket: PathBuf,
    open: Option<Open>,
}

/// The sending half of a connection and the task driving it.
#[derive(Debug)]
struct Open {
    sender: SendRequest<Full<Bytes>>,
    driver: tokio::task::JoinHandle<()>,
}

impl Drop for Open {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

impl Connection {
    /// A connection to the agent on `socket`, not opened yet.
    pub fn new(socket: impl Into<PathBuf>) -> Self {
        Connection {
            socket: socket.into(),
            open: None,
        }
    }

    fn failed(&self, reason: &str, source: Option<std::io::Error>) -> Error {
        Error::Socket {
            path: self.socket.clone(),
            reason: reason.to_owned(),
            source,
        }
    }

    /// Opens the connection: connect and HTTP/1.1 handshake.
    async fn open(&self) -> Result<Open, Error> {
        let stream = UnixStream::connect(&self.socket)
            .await
            .map_err(|e| self.failed("cannot connect (is the agent running?)", Some(e)))?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| self.failed(&format!("HTTP handshake failed: {e}"), None))?;
        let driver = tokio::spawn(async move {
            // Its end (the agent closed the connection, or an error) shows on the next
            // request as a sender that is not ready.
            let _ = connection.await;
        });
        Ok(Open { sender, driver })
    }

    /// Sends `method path` with an optional JSON `body` on this connection (opened, or
    /// opened again, as needed). A request that fails before any answer on a connection
    /// used before (the agent closed it meanwhile) is sent once more on a new one.
    ///
    /// # Errors
    /// [`Error::Socket`] when the socket cannot be reached, the exchange fails or takes
    /// longer than [`REQUEST_TIMEOUT`].
    pub async fn request(
        &mut self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Reply, Error> {
        let payload = body.map(|b| Bytes::from(b.to_string())).unwrap_or_default();
        let exchange = async {
            let reused = self.open.is_some();
            match self.send(&method, path, body.is_some(), &payload).await {
                Err(Sent::Before(_)) if reused => {
                    self.open = None;
                    self.send(&method, path, body.is_some(), &payload).await
                }
                other => other,
            }
            .map_err(|(Sent::Before(e) | Sent::After(e))| e)
        };
        let result = tokio::time::timeout(REQUEST_TIMEOUT, exchange)
            .await
            .map_err(|_| self.failed("no answer in time", None))
            .and_then(|r| r);
        if result.is_err() {
            self.open = None;
        }
        result
    }

    async fn send(
        &mut self,
        method: &Method,
        path: &str,
        json: bool,
        payload: &Bytes,
    ) -> Result<Reply, Sent> {
        if self
            .open
            .as_ref()
            .is_none_or(|o| o.sender.is_closed() || o.driver.is_finished())
        {
            self.open = Some(self.open().await.map_err(Sent::After)?);
        }
        let mut builder = Request::builder()
            .method(method.clone())
            .uri(path)
            .header(hyper::header::HOST, "hsmjwt-agent");
        if json {
            builder = builder.header(hyper::header::CONTENT_TYPE, "application/json");
        }
        let request = builder
            .body(Full::new(payload.clone()))
            .map_err(|e| Sent::After(self.failed(&format!("bad request: {e}"), None)))?;
        let Some(open) = self.open.as_mut() else {
            return Err(Sent::After(self.failed("no connection", None)));
        };
        if let Err(e) = open.sender.ready().await {
            return Err(Sent::Before(
                self.failed(&format!("the connection closed: {e}"), None),
            ));
        }
        let response = match open.sender.send_request(request).await {
            Ok(response) => response,
            Err(e) => {
                let error = self.failed(&format!("the request failed: {e}"), None);
                // Nothing was answered: the agent closed the connection before reading it.
                return Err(if e.is_canceled() || e.is_incomplete_message() {
                    Sent::Before(error)
                } else {
                    Sent::After(error)
                });
            }
        };
        let status = response.status().as_u16();
        let cache_control = response
            .headers()
            .get(hyper::header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = Limited::new(response.into_body(), MAX_RESPONSE)
            .collect()
            .await
            .map_err(|e| {
                Sent::After(self.failed(&format!("the answer cannot be read: {e}"), None))
            })?
            .to_bytes();
        Ok(Reply {
            status,
            cache_control,
            body,
        })
    }
}

/// How a request on a [`Connection`] failed: before anything was answered (it may be sent
/// again on a new connection), or after.
enum Sent {
    Before(Error),
    After(Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_one_path_segment() {
        assert_eq!(token_path("aem"), "/v1/tokens/aem");
        assert_eq!(token_path("a/b c"), "/v1/tokens/a%2Fb%20c");
        assert_eq!(sign_path("svc-1_x.y~"), "/v1/sign/svc-1_x.y~");
        assert_eq!(sign_path("../x"), "/v1/sign/..%2Fx");
    }
}
