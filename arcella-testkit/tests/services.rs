//! The services that keep a guest's state and settings, under the harness:
//! a key-value store seeded by the test and read back after its steps,
//! `[config]` served through `wasi:config`, `wasi:logging` in the logs,
//! and every service call in the step's trace. Each test runs in both
//! isolations against one snapshot: a worker's guest reaches the same store
//! (the host's) and its calls reach the same trace, in the same order.

mod support;

use arcella_fixtures::{config_guest, keyvalue_guest};
use arcella_testkit::{Error, Harness, Isolation};
use support::WORKER;

/// The payload of the keyvalue guest's `s`: the key's length, the key, the value.
fn set_payload(key: &str, value: &[u8]) -> Vec<u8> {
    let mut payload = vec![u8::try_from(key.len()).unwrap()];
    payload.extend_from_slice(key.as_bytes());
    payload.extend_from_slice(value);
    payload
}

#[test]
fn a_seeded_bucket_is_changed_by_the_guest_and_read_back_with_every_call_traced() {
    let guest = keyvalue_guest();
    // In this process (the embedded feature) and in a host process, where
    // seeds, calls and the bucket cross the protocol as data.
    let places = [
        (Isolation::Main, false),
        (Isolation::Worker, false),
        (Isolation::Main, true),
        (Isolation::Worker, true),
    ];
    for (isolation, in_host_process) in places {
        let builder = Harness::from_bytes(&guest);
        let builder = if in_host_process {
            builder.host(WORKER)
        } else {
            builder
        };
        let mut h = builder
            .name("kv")
            .isolation(isolation)
            .worker_exe(WORKER)
            .without_fuel()
            .allow_keyvalue("default")
            .keyvalue(
                "default",
                [
                    ("visits", b"41".as_slice()),
                    ("photo", b"\x89PNG\r\n".as_slice()),
                ],
            )
            .keyvalue("secrets", [("token", "s3cr3t")])
            .start()
            .unwrap();
        assert_eq!(h.keyvalue("default").text("visits"), Some("41"));

        let counted = h.send("i", b"visits").unwrap();
        assert_eq!(
            counted,
            42u64.to_le_bytes(),
            "{isolation:?}: seeded, then counted"
        );
        h.send("s", &set_payload("name", b"Ada"));
        h.send("S", b"");
        h.send("M", b"");
        h.send("e", b"photo");
        h.send("d", b"photo");
        h.send("gsecrets", b"token");
        h.stop();

        let bucket = h.keyvalue("default");
        assert_eq!(bucket.text("visits"), Some("42"), "{isolation:?}");
        assert_eq!(bucket.get("photo"), None, "{isolation:?}");
        assert_eq!(
            h.keyvalue("secrets").text("token"),
            Some("s3cr3t"),
            "{isolation:?}: an ungranted bucket is untouched"
        );
        assert!(h.keyvalue("never-written").is_empty());
        arcella_testkit::assert_trace!("keyvalue_trace", h);
        insta::assert_yaml_snapshot!("keyvalue_bucket", h.keyvalue("default"));
    }
}

#[test]
fn config_reaches_wasi_config_and_wasi_logging_lands_in_the_logs_with_its_context() {
    let guest = config_guest();
    for isolation in [Isolation::Main, Isolation::Worker] {
        let mut h = Harness::from_bytes(&guest)
            .name("configured")
            .isolation(isolation)
            .worker_exe(WORKER)
            .without_fuel()
            .config("greeting", "Hi")
            .config("audience", "world")
            .start()
            .unwrap();
        assert_eq!(h.send("get", b"greeting").unwrap(), b"Hi", "{isolation:?}");
        assert_eq!(h.send("get", b"absent").unwrap(), b"none");
        assert_eq!(h.send("all", b"").unwrap(), [2], "{isolation:?}");
        h.send("log", b"disk full");
        arcella_testkit::assert_trace!("config_trace", h);
    }
}

#[test]
fn a_bucket_name_the_manifest_would_refuse_is_a_setting_error() {
    let guest = keyvalue_guest();
    let seeded = Harness::from_bytes(&guest)
        .keyvalue("", [("k", "v")])
        .install()
        .unwrap_err();
    assert!(
        matches!(&seeded, Error::Setting(message) if message.contains("cannot be empty")),
        "{seeded}"
    );
    let granted = Harness::from_bytes(&guest)
        .allow_keyvalue("a\nb")
        .install()
        .unwrap_err();
    assert!(
        matches!(&granted, Error::Setting(message) if message.contains("control character")),
        "{granted}"
    );
}
