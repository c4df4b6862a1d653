//! The HTTP client of the commands that ask a running Ribbit (`ribbit
//! neighbor`, `ribbit rib`, `ribbit monitor`, `ribbit stats`) or change it
//! (`ribbit announce`, `ribbit withdraw`, `ribbit reload`, `ribbit neighbor
//! add | del | ADDRESS enable ...`).
//!
//! It is hyper's HTTP/1.1 client, which axum's server already brings in:
//! one connection per request, to an `http://` address (the API listens on
//! loopback by default; HTTPS belongs in a reverse proxy in front of it).

use std::ops::ControlFlow;
use std::process::ExitCode;

use axum::body::Bytes;
use clap::Args;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::de::DeserializeOwned;
use tokio::net::TcpStream;

use crate::config::DEFAULT_API_LISTEN;

/// Where the API is and how to be let in: the options every client
/// command takes.
#[derive(Debug, Clone, Args)]
pub struct ApiArgs {
    /// The API of the running Ribbit.
    #[arg(long, value_name = "URL", env = "RIBBIT_API", default_value_t = default_url())]
    pub api: String,
    /// The API's bearer token (`[api] token`).
    #[arg(
        long,
        value_name = "TOKEN",
        env = "RIBBIT_TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,
}

fn default_url() -> String {
    format!("http://{DEFAULT_API_LISTEN}")
}

/// Why a client command failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// `--api` is not an address the client can use.
    #[error("--api {url:?}: {problem}")]
    BadUrl {
        /// The URL.
        url: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// The API could not be reached.
    #[error(
        "cannot reach the API at {url}: {source} (is `ribbit run` running, with [api] enabled?)"
    )]
    Connect {
        /// The URL.
        url: String,
        /// Why.
        source: std::io::Error,
    },
    /// The HTTP exchange failed.
    #[error("the API at {url} did not answer properly: {source}")]
    Http {
        /// The URL.
        url: String,
        /// Why.
        source: hyper::Error,
    },
    /// The API answered with an error.
    #[error("{message}")]
    Api {
        /// The HTTP status.
        status: StatusCode,
        /// The API's message (its `error` member).
        message: String,
    },
    /// The answer is not the JSON expected.
    #[error("the API's answer to {path} is not what this client understands: {source}")]
    Decode {
        /// The request.
        path: String,
        /// Why.
        source: serde_json::Error,
    },
    /// A request argument cannot be sent (a control character in a token).
    #[error("{0}")]
    Request(String),
    /// Standard output could not be written.
    #[error("cannot write to standard output: {0}")]
    Output(#[source] std::io::Error),
    /// The runtime could not start.
    #[error("cannot start the runtime: {0}")]
    Runtime(#[source] std::io::Error),
}

impl ClientError {
    /// The exit status: 1 when the API refused the request, 2 when it
    /// could not be asked or the output could not be written.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            ClientError::Api { .. } => ExitCode::from(1),
            _ => ExitCode::from(2),
        }
    }
}

/// Print a client command's error and give its exit status.
pub fn finish(result: Result<ExitCode, ClientError>) -> ExitCode {
    match result {
        Ok(code) => code,
        // A reader that went away (`ribbit monitor | head`) is no failure.
        Err(ClientError::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ribbit: {e}");
            e.exit_code()
        }
    }
}

/// Run a client command on a small runtime of its own.
pub fn block_on<F: std::future::Future<Output = Result<ExitCode, ClientError>>>(
    f: F,
) -> Result<ExitCode, ClientError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(ClientError::Runtime)?
        .block_on(f)
}

/// Percent-encode a path segment or query value.
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b':') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A client of one API.
#[derive(Debug, Clone)]
pub struct Client {
    url: String,
    /// `host:port`, for the connection and the Host header.
    authority: String,
    /// Path in front of `/v1/...` (a reverse proxy's prefix), no trailing `/`.
    base: String,
    token: Option<String>,
}

impl Client {
    /// A client of the API at `url` (`http://HOST:PORT[/PREFIX]`).
    pub fn new(url: &str, token: Option<String>) -> Result<Client, ClientError> {
        let bad = |problem| ClientError::BadUrl {
            url: url.to_string(),
            problem,
        };
        let rest = if let Some(rest) = url.strip_prefix("http://") {
            rest
        } else if url.starts_with("https://") {
            return Err(bad(
                "https is not supported by this client; reach the API over http (on loopback, or through an SSH tunnel)",
            ));
        } else {
            return Err(bad("it must start with http://"));
        };
        let (authority, base) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
            None => (rest, ""),
        };
        if authority.is_empty() {
            return Err(bad("it names no host"));
        }
        let authority = if authority.ends_with(']') || !authority.contains(':') {
            // No port: the API's own, not HTTP's 80.
            format!("{authority}:{}", DEFAULT_API_LISTEN.port())
        } else {
            authority.to_string()
        };
        if let Some(t) = &token {
            if HeaderValue::from_str(&format!("Bearer {t}")).is_err() {
                return Err(ClientError::Request(
                    "the token cannot be sent in an HTTP header (it has control characters)"
                        .to_string(),
                ));
            }
        }
        Ok(Client {
            url: url.trim_end_matches('/').to_string(),
            authority,
            base: base.to_string(),
            token,
        })
    }

    /// The client of the options.
    pub fn from_args(args: &ApiArgs) -> Result<Client, ClientError> {
        Client::new(&args.api, args.token.clone())
    }

    /// Send `GET path` (`/v1/...`, query included) and return the answer
    /// once its head arrived; an error status is turned into
    /// [`ClientError::Api`] with the API's message.
    pub async fn get(&self, path: &str) -> Result<Response<Incoming>, ClientError> {
        self.request(Method::GET, path, None).await
    }

    /// Send a request with an optional body (its Content-Type and bytes)
    /// and return the answer once its head arrived; an error status is
    /// turned into [`ClientError::Api`] with the API's message.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<(&'static str, Vec<u8>)>,
    ) -> Result<Response<Incoming>, ClientError> {
        let url = format!("{}{path}", self.url);
        let stream = TcpStream::connect(&self.authority)
            .await
            .map_err(|source| ClientError::Connect {
                url: self.url.clone(),
                source,
            })?;
        let http = |source| ClientError::Http {
            url: url.clone(),
            source,
        };
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(http)?;
        // The connection is driven by its own task; it ends with the body.
        tokio::spawn(conn);
        let mut builder = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header(HOST, &self.authority);
        let bytes = match body {
            Some((ctype, bytes)) => {
                builder = builder.header(CONTENT_TYPE, ctype);
                Bytes::from(bytes)
            }
            None => Bytes::new(),
        };
        let mut req = builder
            .body(Full::new(bytes))
            .map_err(|e| ClientError::Request(format!("{path}: {e}")))?;
        if let Some(t) = &self.token {
            if let Ok(v) = HeaderValue::from_str(&format!("Bearer {t}")) {
                req.headers_mut().insert(AUTHORIZATION, v);
            }
        }
        let resp = sender.send_request(req).await.map_err(http)?;
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let body = resp.into_body().collect().await.map_err(http)?.to_bytes();
        let message = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
            .unwrap_or_else(|| {
                format!(
                    "the API answered {status}: {}",
                    String::from_utf8_lossy(&body).trim()
                )
            });
        Err(ClientError::Api { status, message })
    }

    /// A request with a body, the whole answer.
    pub async fn send_bytes(
        &self,
        method: Method,
        path: &str,
        body: Option<(&'static str, Vec<u8>)>,
    ) -> Result<Bytes, ClientError> {
        let resp = self.request(method, path, body).await?;
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|source| ClientError::Http {
                url: format!("{}{path}", self.url),
                source,
            })?;
        Ok(body.to_bytes())
    }

    /// `GET path`, the whole body.
    pub async fn get_bytes(&self, path: &str) -> Result<Bytes, ClientError> {
        let resp = self.get(path).await?;
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|source| ClientError::Http {
                url: format!("{}{path}", self.url),
                source,
            })?;
        Ok(body.to_bytes())
    }

    /// `GET path`, decoded.
    pub async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        let body = self.get_bytes(path).await?;
        serde_json::from_slice(&body).map_err(|source| ClientError::Decode {
            path: path.to_string(),
            source,
        })
    }

    /// `GET path` as a stream of lines (NDJSON): `each` is called with
    /// every complete line, without its newline, until the stream ends
    /// (`Ok(true)`), or `each` breaks (`Ok(false)`) or fails.
    pub async fn lines(
        &self,
        path: &str,
        mut each: impl FnMut(&[u8]) -> Result<ControlFlow<()>, ClientError>,
    ) -> Result<bool, ClientError> {
        let mut body = self.get(path).await?.into_body();
        let mut pending: Vec<u8> = Vec::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|source| ClientError::Http {
                url: format!("{}{path}", self.url),
                source,
            })?;
            let Ok(data) = frame.into_data() else {
                continue;
            };
            pending.extend_from_slice(&data);
            while let Some(i) = pending.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = pending.drain(..=i).collect();
                if each(&line[..i])?.is_break() {
                    return Ok(false);
                }
            }
        }
        if !pending.is_empty() && each(&pending)?.is_break() {
            return Ok(false);
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let c = Client::new("http://127.0.0.1:50179", None).unwrap();
        assert_eq!(
            (c.authority.as_str(), c.base.as_str()),
            ("127.0.0.1:50179", "")
        );
        let c = Client::new("http://localhost/ribbit/", None).unwrap();
        assert_eq!(
            (c.authority.as_str(), c.base.as_str()),
            ("localhost:50179", "/ribbit")
        );
        let c = Client::new("http://[::1]", None).unwrap();
        assert_eq!(c.authority, "[::1]:50179");
        let c = Client::new("http://[::1]:8080", None).unwrap();
        assert_eq!(c.authority, "[::1]:8080");
        for bad in ["https://127.0.0.1", "127.0.0.1:50179", "http://"] {
            assert!(
                matches!(Client::new(bad, None), Err(ClientError::BadUrl { .. })),
                "{bad}"
            );
        }
        assert!(Client::new("http://127.0.0.1", Some("a\nb".into())).is_err());
    }

    #[test]
    fn encoding() {
        assert_eq!(encode("10.0.0.0/24"), "10.0.0.0%2F24");
        assert_eq!(encode("2001:db8::/32"), "2001:db8::%2F32");
        assert_eq!(encode("a b&c"), "a%20b%26c");
    }
}
