//! The network a harness's guest sees: the test's mocks, answered by the
//! host wherever the guest runs, and a record of every request.

use std::sync::{Arc, Mutex};

use arcella_host::Network;
use arcella_host::services::outbound_http::{
    MockRoute, OutboundAnswer as HostAnswer, OutboundCallback, OutboundRecord, OutboundResponse,
};

use crate::protocol::{Mock, OutboundAnswer, OutboundCall};

/// The route the host answers `mock` with.
fn route(mock: &Mock) -> MockRoute {
    MockRoute {
        method: mock.method.clone(),
        url: mock.url.clone(),
        headers: mock.headers.clone(),
        response: OutboundResponse {
            status: mock.status,
            headers: mock.response_headers.clone(),
            body: mock.body.clone(),
        },
    }
}

/// The network a harness's guest sees: its mocks, answered by the host
/// wherever the guest runs (in a worker too), and a record of every request.
pub(crate) struct MockedNetwork {
    network: Network,
    calls: Arc<Mutex<Vec<OutboundCall>>>,
}

impl MockedNetwork {
    pub(crate) fn new(mocks: &[Mock]) -> Self {
        Self {
            network: Network::Mocked(mocks.iter().map(route).collect()),
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
            lock(&calls).push(OutboundCall {
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
    pub(crate) fn take_calls(&self) -> Vec<OutboundCall> {
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
    use crate::HttpMock;
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
        let mock = route(
            &HttpMock::get("https://api.example.com/a")
                .header("Accept", "text/plain")
                .into_wire(),
        );
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
        let prefix = route(&HttpMock::get("https://api.example.com/users/*").into_wire());
        assert!(prefix.matches(&request("GET", "https://api.example.com/users/7", &[])));
        assert!(!prefix.matches(&request("GET", "https://api.example.com/teams/7", &[])));
    }

    #[test]
    fn every_reported_request_is_recorded_with_what_it_got() {
        let network =
            MockedNetwork::new(&[HttpMock::get("http://a.test/").respond(204, "").into_wire()]);
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
        assert!(matches!(calls[0].answer, OutboundAnswer::Status(204)));
        assert!(matches!(calls[1].answer, OutboundAnswer::NoMock));
        assert!(matches!(calls[2].answer, OutboundAnswer::Denied));
        assert!(network.take_calls().is_empty());
    }
}
