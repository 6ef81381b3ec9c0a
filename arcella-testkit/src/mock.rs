//! Mocked outbound HTTP: a harness never reaches the real network. Requests
//! that `[capabilities] http` allows are answered by the first matching
//! [`HttpMock`], or refused when none matches; every one is recorded.

use crate::protocol::Mock;

/// A canned answer to outbound requests that match a method, a URL and
/// (optionally) headers:
///
/// ```
/// use arcella_testkit::HttpMock;
///
/// let mock = HttpMock::get("https://api.example.com/users/1")
///     .header("accept", "application/json")
///     .respond(200, r#"{"name":"Ada"}"#)
///     .response_header("content-type", "application/json");
/// ```
#[derive(Debug, Clone)]
pub struct HttpMock {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    status: u16,
    response_headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl HttpMock {
    /// Matches `method` requests to exactly `url` (scheme, host, port, path and
    /// query, as the guest wrote them; a URL ending in `*` matches every URL
    /// that starts with what comes before it). Answers 200 with an empty body
    /// until [`respond`](Self::respond) says otherwise.
    pub fn new(method: &str, url: &str) -> Self {
        Self {
            method: method.to_ascii_uppercase(),
            url: url.to_string(),
            headers: Vec::new(),
            status: 200,
            response_headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Matches `GET` requests to `url`.
    pub fn get(url: &str) -> Self {
        Self::new("GET", url)
    }

    /// Matches `POST` requests to `url`.
    pub fn post(url: &str) -> Self {
        Self::new("POST", url)
    }

    /// Only matches requests that carry this header with this value (names
    /// compare without case).
    #[must_use]
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers
            .push((name.to_ascii_lowercase(), value.to_string()));
        self
    }

    /// Answers with `status` and `body`.
    #[must_use]
    pub fn respond(mut self, status: u16, body: impl Into<Vec<u8>>) -> Self {
        self.status = status;
        self.body = body.into();
        self
    }

    /// Adds a header to the answer.
    #[must_use]
    pub fn response_header(mut self, name: &str, value: &str) -> Self {
        self.response_headers
            .push((name.to_string(), value.to_string()));
        self
    }

    /// The mock as the host receives it.
    pub(crate) fn into_wire(self) -> Mock {
        Mock {
            method: self.method,
            url: self.url,
            headers: self.headers,
            status: self.status,
            response_headers: self.response_headers,
            body: self.body,
        }
    }
}
