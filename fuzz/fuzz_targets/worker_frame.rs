//! The worker protocol's frame decoder on untrusted bytes: a stream of
//! frames read as host requests (what a worker reads from its stdin) and as
//! worker events (what the host reads from a worker, which may be
//! compromised). A frame that decodes must encode and decode again to the
//! same value.
#![no_main]

use std::fmt::Debug;

use std::path::Path;
use std::time::Duration;

use arcella_host::ComponentKind;
use arcella_host::EngineSettings;
use arcella_host::http::ServeOptions;
use arcella_host::services::logging::{Level, LogRecord};
use arcella_host::services::outbound_http::{
    MockRoute, OutboundAnswer, OutboundRecord, OutboundResponse,
};
use arcella_host::services::wasi::output::{Captured, Stream};
use arcella_host::worker::protocol::{
    Done, Event, Op, OutputMode, Reply, Request, WireSettings, encode_frame, read_frame,
};
use arcella_host::{Call, CommandOutput};
use libfuzzer_sys::fuzz_target;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Frames read from one input, at most; each may be up to `MAX_FRAME` long.
const MAX_FRAMES: usize = 64;

fn read_all<T: Serialize + DeserializeOwned + Debug>(mut stream: &[u8]) {
    for _ in 0..MAX_FRAMES {
        match read_frame::<T>(&mut stream) {
            Ok(Some(message)) => round_trip(&message),
            Ok(None) | Err(_) => break,
        }
    }
}

fn round_trip<T: Serialize + DeserializeOwned + Debug>(message: &T) {
    let frame = encode_frame(message).expect("a decoded message encodes");
    let again: T = read_frame(&mut frame.as_slice())
        .expect("an encoded message decodes")
        .expect("an encoded message is a frame");
    assert_eq!(
        format!("{message:?}"),
        format!("{again:?}"),
        "a frame changed on its way through encode and decode"
    );
}

/// Frames as the host and a worker really send them, for the seed corpus.
fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let manifest = arcella_host::manifest::parse(
        br#"
[module]
name = "hello"
version = "0.1.0"
[limits]
fuel = 1_000
memory = "1MiB"
timeout = "250ms"
[capabilities]
env = ["RUST_LOG", "MODE=test"]
http = ["api.example.com", "*.example.org", "[::1]:80"]
"#,
        Path::new("/app/arcella.toml"),
    )
    .manifest
    .expect("the seed manifest is valid");
    let settings = WireSettings {
        engine: EngineSettings::default(),
        limits: manifest.limits.clone(),
        capabilities: manifest.capabilities.clone(),
        deterministic: true,
        cache_dir: Some("/home/user/.cache/arcella".into()),
        backends: arcella_host::Backends {
            network: arcella_host::Network::Mocked(vec![MockRoute {
                method: "GET".into(),
                url: "https://api.example.com/*".into(),
                headers: vec![("accept".into(), "text/plain".into())],
                response: OutboundResponse {
                    status: 200,
                    headers: Vec::new(),
                    body: b"hi".to_vec(),
                },
            }]),
        },
        config: vec![
            ("greeting".to_string(), "hello".to_string()),
            ("count".to_string(), "16".to_string()),
        ]
        .into(),
        report_service_calls: true,
    };
    let wasm = wat::parse_str(arcella_fuzz::TRIVIAL_COMPONENT).expect("component");
    let key = || "hello#1".to_string();
    let record = LogRecord {
        module: "hello".into(),
        level: Level::Info,
        message: "greeting \u{1b}[31mred\u{1b}[0m".into(),
    };
    fn call<T>(value: T, record: &LogRecord) -> Call<T> {
        Call {
            value,
            fuel: 1234,
            logs: vec![record.clone()],
            dropped_logs: 2,
            duration: Duration::from_micros(1500),
        }
    }
    let frame = |message: &dyn erased::Frame| message.frame();
    let requests: Vec<(&'static str, Box<dyn erased::Frame>)> = vec![
        (
            "request-install",
            Box::new(Request::Install {
                key: key(),
                name: "hello".into(),
                hash: *blake3::hash(&wasm).as_bytes(),
                wasm: wasm.clone(),
                settings: settings.clone(),
            }),
        ),
        (
            "request-install-by-hash",
            Box::new(Request::Install {
                key: key(),
                name: "hello".into(),
                hash: [7; 32],
                wasm: Vec::new(),
                settings: settings.clone(),
            }),
        ),
        (
            "request-start",
            Box::new(Request::Call {
                key: key(),
                op: Op::Start,
            }),
        ),
        (
            "request-handle",
            Box::new(Request::Call {
                key: key(),
                op: Op::Handle {
                    topic: "greet".into(),
                    payload: b"world".as_slice().into(),
                },
            }),
        ),
        (
            "request-invoke",
            Box::new(Request::Call {
                key: key(),
                op: Op::Invoke {
                    call: "handle(\"greet\", [104, 105])".into(),
                },
            }),
        ),
        (
            "request-run",
            Box::new(Request::Call {
                key: key(),
                op: Op::Run {
                    args: vec!["hello".into(), "--flag".into()],
                    output: OutputMode::Capture { limit: 1 << 20 },
                },
            }),
        ),
        (
            "request-serve-http",
            Box::new(Request::ServeHttp {
                name: "web".into(),
                wasm,
                settings,
                options: ServeOptions::default(),
            }),
        ),
        ("request-stop-serving", Box::new(Request::StopServing)),
        ("event-log", Box::new(Event::Log(record.clone()))),
        (
            "event-outbound",
            Box::new(Event::Outbound(OutboundRecord {
                method: "GET".into(),
                url: "https://api.example.com/a".into(),
                answer: OutboundAnswer::Mocked(200),
            })),
        ),
        (
            "event-output",
            Box::new(Event::Output(Stream::Stderr, b"oops\n".to_vec())),
        ),
        (
            "reply-installed",
            Box::new(Event::Reply(Ok(Reply::Installed(ComponentKind::Module)))),
        ),
        (
            "reply-needs-component",
            Box::new(Event::Reply(Ok(Reply::NeedsComponent))),
        ),
        (
            "reply-handled",
            Box::new(Event::Reply(Ok(Reply::Done(Done::Handled(call(
                Ok(b"hi".to_vec()),
                &record,
            )))))),
        ),
        (
            "reply-invoked",
            Box::new(Event::Reply(Ok(Reply::Done(Done::Invoked(call(
                "[104, 105]".to_string(),
                &record,
            )))))),
        ),
        (
            "reply-ran",
            Box::new(Event::Reply(Ok(Reply::Done(Done::Ran(call(
                CommandOutput {
                    exit_code: 1,
                    stdout: Captured {
                        bytes: b"out".to_vec(),
                        dropped: 0,
                    },
                    stderr: Captured {
                        bytes: b"err".to_vec(),
                        dropped: 10,
                    },
                },
                &record,
            )))))),
        ),
        (
            "reply-listening",
            Box::new(Event::Reply(Ok(Reply::Listening(
                "[::1]:8080".parse().expect("address"),
            )))),
        ),
        (
            "reply-error",
            Box::new(Event::Reply(Err(arcella_host::Error::Host("boom".into())))),
        ),
    ];
    let mut seeds: Vec<(&'static str, Vec<u8>)> = requests
        .iter()
        .map(|(name, message)| (*name, frame(message.as_ref())))
        .collect();
    // A worker's answer to one call: logs and output, then the reply.
    let mut stream = frame(&Event::Log(record.clone()));
    stream.extend(frame(&Event::Output(Stream::Stdout, b"hello\n".to_vec())));
    stream.extend(frame(&Event::Reply(Ok(Reply::Done(Done::Started(call(
        (),
        &record,
    )))))));
    seeds.push(("events-stream", stream));
    seeds
}

/// Encoding messages of different types behind one `dyn`.
mod erased {
    pub trait Frame {
        fn frame(&self) -> Vec<u8>;
    }
    impl<T: serde::Serialize> Frame for T {
        fn frame(&self) -> Vec<u8> {
            super::encode_frame(self).expect("a seed encodes")
        }
    }
}

fuzz_target!(|data: &[u8]| {
    arcella_fuzz::write_seeds_if_asked(seeds);
    read_all::<Request>(data);
    read_all::<Event>(data);
});
