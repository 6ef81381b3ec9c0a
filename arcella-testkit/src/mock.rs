//! Mocked outbound HTTP: a harness never reaches the real network. Requests
//! that `[capabilities] http` allows are answered by the first matching
//! [`HttpMock`], or refused when none matches; every one is recorded.

use std::sync::{Arc, Mutex};

use arcella_host::http::outbound::Denial;
use arcella_host::http::{MockNetwork, OutboundRequest, OutboundResponse};

use crate::trace::{Outbound, OutboundAnswer};

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

    fn matches(&self, request: &OutboundRequest) -> bool {
        let url = match self.url.strip_suffix('*') {
            Some(prefix) => request.url.starts_with(prefix),
            None => request.url == self.url,
        };
        url && request.method.eq_ignore_ascii_case(&self.method)
            && self.headers.iter().all(|(name, value)| {
                request.headers.iter().any(|(given, given_value)| {
                    given.eq_ignore_ascii_case(name) && given_value == value
                })
            })
    }
}

/// The network a harness's guest sees: its mocks, and a record of every request.
pub(crate) struct MockedNetwork {
    mocks: Vec<HttpMock>,
    calls: Arc<Mutex<Vec<Outbound>>>,
}

impl MockedNetwork {
    pub(crate) fn new(mocks: Vec<HttpMock>) -> Self {
        Self {
            mocks,
            calls: Arc::default(),
        }
    }

    /// The requests made since the last call, in order.
    pub(crate) fn take_calls(&self) -> Vec<Outbound> {
        std::mem::take(&mut *lock(&self.calls))
    }

    fn record(&self, method: &str, url: &str, answer: OutboundAnswer) {
        lock(&self.calls).push(Outbound {
            method: method.to_string(),
            url: url.to_string(),
            answer,
        });
    }
}

impl MockNetwork for MockedNetwork {
    fn answer(&self, request: &OutboundRequest) -> Option<OutboundResponse> {
        let Some(mock) = self.mocks.iter().find(|mock| mock.matches(request)) else {
            self.record(&request.method, &request.url, OutboundAnswer::NoMock);
            return None;
        };
        self.record(
            &request.method,
            &request.url,
            OutboundAnswer::Status(mock.status),
        );
        Some(OutboundResponse {
            status: mock.status,
            headers: mock.response_headers.clone(),
            body: mock.body.clone(),
        })
    }

    fn denied(&self, method: &str, url: &str, _denial: &Denial) {
        self.record(method, url, OutboundAnswer::Denied);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: &str, url: &str, headers: &[(&str, &str)]) -> OutboundRequest {
        OutboundRequest {
            method: method.into(),
            url: url.into(),
            headers: headers
                .iter()
                .map(|(name, value)| ((*name).to_string(), (*value).to_string()))
                .collect(),
            body: Vec::new(),
        }
    }

    #[test]
    fn mocks_match_on_method_url_and_headers() {
        let mock = HttpMock::get("https://api.example.com/a").header("Accept", "text/plain");
        assert!(mock.matches(&request(
            "GET",
            "https://api.example.com/a",
            &[("accept", "text/plain")]
        )));
        assert!(!mock.matches(&request("GET", "https://api.example.com/a", &[])));
        assert!(!mock.matches(&request(
            "POST",
            "https://api.example.com/a",
            &[("accept", "text/plain")]
        )));
        assert!(!mock.matches(&request(
            "GET",
            "https://api.example.com/b",
            &[("accept", "text/plain")]
        )));
        let prefix = HttpMock::get("https://api.example.com/users/*");
        assert!(prefix.matches(&request("GET", "https://api.example.com/users/7", &[])));
        assert!(!prefix.matches(&request("GET", "https://api.example.com/teams/7", &[])));
    }

    #[test]
    fn every_request_is_recorded_with_what_it_got() {
        let network = MockedNetwork::new(vec![HttpMock::get("http://a.test/").respond(204, "")]);
        assert_eq!(
            network
                .answer(&request("GET", "http://a.test/", &[]))
                .map(|r| r.status),
            Some(204)
        );
        assert!(
            network
                .answer(&request("GET", "http://b.test/", &[]))
                .is_none()
        );
        let calls = network.take_calls();
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0].answer, OutboundAnswer::Status(204));
        assert_eq!(calls[1].answer, OutboundAnswer::NoMock);
        assert!(network.take_calls().is_empty());
    }
}
