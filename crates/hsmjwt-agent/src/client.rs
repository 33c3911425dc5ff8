//! A client of the agent's socket, for scripts (`hsmjwt agent token`, `hsmjwt agent sign`)
//! and tests: one HTTP/1.1 request per connection (hyper over a Unix stream).

use std::path::Path;
use std::time::Duration;

use http_body_util::{BodyExt as _, Full, Limited};
use hyper::Request;
use hyper::body::Bytes;

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

/// Sends `method path` with an optional JSON `body` to the agent on `socket`.
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
    let failed = |reason: &str, source: Option<std::io::Error>| Error::Socket {
        path: socket.to_owned(),
        reason: reason.to_owned(),
        source,
    };
    let exchange = async {
        let stream = UnixStream::connect(socket)
            .await
            .map_err(|e| failed("cannot connect (is the agent running?)", Some(e)))?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| failed(&format!("HTTP handshake failed: {e}"), None))?;
        let driver = tokio::spawn(connection);
        let payload = body.map(|b| Bytes::from(b.to_string())).unwrap_or_default();
        let mut builder = Request::builder()
            .method(method)
            .uri(path)
            .header(hyper::header::HOST, "hsmjwt-agent");
        if body.is_some() {
            builder = builder.header(hyper::header::CONTENT_TYPE, "application/json");
        }
        let request = builder
            .body(Full::new(payload))
            .map_err(|e| failed(&format!("bad request: {e}"), None))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| failed(&format!("the request failed: {e}"), None))?;
        let status = response.status().as_u16();
        let cache_control = response
            .headers()
            .get(hyper::header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = Limited::new(response.into_body(), MAX_RESPONSE)
            .collect()
            .await
            .map_err(|e| failed(&format!("the answer cannot be read: {e}"), None))?
            .to_bytes();
        driver.abort();
        Ok(Reply {
            status,
            cache_control,
            body,
        })
    };
    tokio::time::timeout(REQUEST_TIMEOUT, exchange)
        .await
        .map_err(|_| failed("no answer in time", None))?
}
