//! Mocked outbound HTTP: a harness never reaches the real network. Requests
//! that `[capabilities] http` allows are answered by the first matching
//! [`HttpMock`], or refused when none matches; every one is recorded.

use std::sync::{Arc, Mutex};

use arcella_host::Network;
use arcella_host::services::outbound_http::{
    MockRoute, OutboundAnswer as HostAnswer, OutboundCallback, OutboundRecord, OutboundResponse,
};

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

    /// The route the host answers with.
    fn route(&self) -> MockRoute {
        MockRoute {
            method: self.method.clone(),
            url: self.url.clone(),
            headers: self.headers.clone(),
            response: OutboundResponse {
                status: self.status,
                headers: self.response_headers.clone(),
                body: self.body.clone(),
            },
        }
    }
}

/// The network a harness's guest sees: its mocks, answered by the host
/// wherever the guest runs (in a worker too), and a record of every request.
pub(crate) struct MockedNetwork {
    network: Network,
    calls: Arc<Mutex<Vec<Outbound>>>,
}

impl MockedNetwork {
    pub(crate) fn new(mocks: &[HttpMock]) -> Self {
        Self {
            network: Network::Mocked(mocks.iter().map(HttpMock::route).collect()),
            calls: Arc::default(),
        }
    }

    /// The backend the host builds from the mocks.
    pub(crate) fn network(&self) -> Network {
        self.network.clone()
    }

    /// Records each request the host reports.
    pub(crate) fn recorder(&self) -> OutboundCallback {
        let calls = self.calls.clone();
        Arc::new(move |record: &OutboundRecord| {
            lock(&calls).push(Outbound {
                method: record.method.clone(),
                url: record.url.clone(),
                answer: match record.answer {
                    HostAnswer::Mocked(status) => OutboundAnswer::Status(status),
                    HostAnswer::NoRoute => OutboundAnswer::NoMock,
                    HostAnswer::Denied => OutboundAnswer::Denied,
                },
            });
        })
    }

    /// The requests made since the last call, in order.
    pub(crate) fn take_calls(&self) -> Vec<Outbound> {
        std::mem::take(&mut *lock(&self.calls))
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
    use arcella_host::services::outbound_http::OutboundRequest;

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
        let mock = HttpMock::get("https://api.example.com/a")
            .header("Accept", "text/plain")
            .route();
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
        let prefix = HttpMock::get("https://api.example.com/users/*").route();
        assert!(prefix.matches(&request("GET", "https://api.example.com/users/7", &[])));
        assert!(!prefix.matches(&request("GET", "https://api.example.com/teams/7", &[])));
    }

    #[test]
    fn every_reported_request_is_recorded_with_what_it_got() {
        let network = MockedNetwork::new(&[HttpMock::get("http://a.test/").respond(204, "")]);
        let record = network.recorder();
        for answer in [
            HostAnswer::Mocked(204),
            HostAnswer::NoRoute,
            HostAnswer::Denied,
        ] {
            record(&OutboundRecord {
                method: "GET".into(),
                url: "http://a.test/".into(),
                answer,
            });
        }
        let calls = network.take_calls();
        assert_eq!(calls.len(), 3);
        assert_eq!(calls[0].answer, OutboundAnswer::Status(204));
        assert_eq!(calls[1].answer, OutboundAnswer::NoMock);
        assert_eq!(calls[2].answer, OutboundAnswer::Denied);
        assert!(network.take_calls().is_empty());
    }
}
