//! Outbound HTTP from a module under the harness: answered by the mocks
//! wherever the module runs. A worker builds the mocked network from the
//! backend spec the host sends it, so a worker-isolated module never opens a
//! socket either.

mod support;

use std::net::TcpListener;

use arcella_testkit::{Harness, HttpMock, Isolation};
use support::{WORKER, fetch_module_guest};

#[test]
fn a_module_gets_the_mocks_answer_and_opens_no_socket_in_either_isolation() {
    for isolation in [Isolation::Main, Isolation::Worker] {
        // A real listener on the granted address: a request that reached the
        // network would connect here.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let authority = listener.local_addr().unwrap().to_string();
        let url = format!("http://{authority}/greeting");

        let mut h = Harness::from_bytes(fetch_module_guest())
            .name("fetcher")
            .isolation(isolation)
            .worker_exe(WORKER)
            .without_fuel()
            .allow_http(&authority)
            .mock_http(HttpMock::get(&url).respond(203, "mocked"))
            .start()
            .unwrap();
        let answer = h.send("fetch", url.as_bytes()).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&answer),
            "status 203",
            "{isolation:?}: the mock answered"
        );
        let unmatched = h
            .send("fetch", format!("http://{authority}/other").as_bytes())
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&unmatched),
            "error: ErrorCode::ConnectionRefused",
            "{isolation:?}: a request no mock matches is refused, not sent"
        );
        let denied = h.send("fetch", b"http://evil.example.net/").unwrap();
        assert_eq!(
            String::from_utf8_lossy(&denied),
            "error: ErrorCode::HttpRequestDenied",
            "{isolation:?}"
        );
        assert!(
            listener.accept().is_err(),
            "{isolation:?}: no connection reached the network"
        );
        let trace = h.trace();
        let answers: Vec<String> = trace
            .steps
            .iter()
            .flat_map(|step| &step.outbound)
            .map(|call| format!("{:?}", call.answer))
            .collect();
        assert_eq!(
            answers,
            ["Status(203)", "NoMock", "Denied"],
            "{isolation:?}: every request is recorded with what it got"
        );
    }
}
