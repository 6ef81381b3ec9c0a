//! HTTP components under the harness: requests and their responses, guest
//! failures, and outbound requests answered by mocks, all in the trace.

mod support;

use arcella_fixtures::http_guest;
use arcella_testkit::{Harness, HttpMock, Isolation};

/// The fixture in this process, allowed to call `api.example.com`, with one mock there.
fn harness() -> arcella_testkit::HarnessBuilder {
    Harness::from_bytes(&http_guest())
        .name("web")
        .isolation(Isolation::Main)
        .without_fuel()
        .allow_http("api.example.com")
        .mock_http(HttpMock::get("http://api.example.com/greeting").respond(200, "hi"))
}

#[test]
fn requests_get_the_components_responses_and_are_recorded() {
    let mut h = harness().install().unwrap();
    let home = h.request("GET", "/", &[], b"").unwrap();
    assert_eq!((home.status, home.text().as_str()), (200, "hello\n"));
    let echo = h
        .request("POST", "/echo", &[("content-type", "text/plain")], b"ping")
        .unwrap();
    assert_eq!(echo.text(), "4 bytes\n");
    assert_eq!(h.request("GET", "/missing", &[], b"").unwrap().status, 404);
    insta::assert_yaml_snapshot!(h.trace());
}

#[test]
fn outbound_requests_are_answered_by_mocks_and_never_reach_the_network() {
    let mut h = harness().install().unwrap();
    let mocked = h
        .request(
            "GET",
            "/fetch?url=http://api.example.com/greeting",
            &[],
            b"",
        )
        .unwrap();
    assert_eq!(mocked.text(), "status 200\n");
    let unmatched = h
        .request("GET", "/fetch?url=http://api.example.com/other", &[], b"")
        .unwrap();
    assert_eq!(unmatched.text(), "error: ErrorCode::ConnectionRefused\n");
    let denied = h
        .request("GET", "/fetch?url=http://evil.example.net/", &[], b"")
        .unwrap();
    assert_eq!(denied.text(), "error: ErrorCode::HttpRequestDenied\n");
    insta::assert_yaml_snapshot!(h.trace());
}

#[test]
fn a_trap_or_a_limit_is_a_failed_step_and_the_next_request_is_served() {
    let mut h = harness().fuel(5_000_000).install().unwrap();
    let trap = h.request("GET", "/trap", &[], b"").unwrap_err();
    assert_eq!(trap.kind(), "trap");
    assert!(
        trap.to_string().contains("request(GET /trap)"),
        "the failure names the step: {trap}"
    );
    let spin = h.request("GET", "/loop", &[], b"").unwrap_err();
    assert_eq!(spin.kind(), "fuel-exhausted");
    assert_eq!(h.request("GET", "/", &[], b"").unwrap().status, 200);
    insta::assert_yaml_snapshot!(h.trace());
}

#[test]
fn a_bad_request_is_a_setup_error_not_a_panic() {
    let mut h = harness().install().unwrap();
    let error = h.request("GET", "no-slash", &[], b"").unwrap_err();
    assert!(error.to_string().contains("must start with `/`"), "{error}");
    let error = h.request("BAD METHOD", "/", &[], b"").unwrap_err();
    assert!(error.to_string().contains("not an HTTP method"), "{error}");
}
