//! `--invoke` text from an untrusted user: `Instance::invoke` splits an
//! optional `interface#`, parses the WAVE call, finds the export, parses the
//! arguments against its parameter types, calls it and renders the results
//! as WAVE.
//!
//! The guest (`fuzz/guests/probe.*`) is a module that also exports functions
//! taking every kind of WIT type, and hands `echo`'s and `mirror`'s
//! arguments back, so results are rendered from guest memory too. One
//! instance serves inputs until a call fails in the guest (a trap, a limit),
//! then a fresh one is made.
#![no_main]

use std::sync::{Mutex, OnceLock};

use arcella_host::EngineSettings;
use arcella_host::Error;
use arcella_host::internal::{Instance, Loaded, Sandbox, SandboxSettings};
use libfuzzer_sys::fuzz_target;

struct Fixture {
    runtime: tokio::runtime::Runtime,
    loaded: Loaded,
    sandbox: Sandbox,
    instance: Option<Instance>,
}

fn fixture() -> &'static Mutex<Fixture> {
    static FIXTURE: OnceLock<Mutex<Fixture>> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let loaded = Loaded::compile(
            "probe",
            arcella_fuzz::probe_guest(),
            EngineSettings::default(),
            None,
        )
        .expect("the probe guest loads");
        let sandbox = loaded.sandbox(&SandboxSettings::default());
        Mutex::new(Fixture {
            runtime,
            loaded,
            sandbox,
            instance: None,
        })
    })
}

fuzz_target!(|data: &[u8]| {
    // The CLI hands `Host::invoke` a `&str`.
    let Ok(call) = std::str::from_utf8(data) else {
        return;
    };
    let mut fixture = fixture().lock().expect("not poisoned");
    let Fixture {
        runtime,
        loaded,
        sandbox,
        instance,
    } = &mut *fixture;
    if instance.is_none() {
        *instance = Some(
            runtime
                .block_on(loaded.instantiate(sandbox))
                .expect("the probe guest instantiates"),
        );
    }
    let Some(current) = instance.as_mut() else {
        return;
    };
    let outcome = runtime.block_on(current.invoke(call));
    if std::env::var_os("ARCELLA_FUZZ_SHOW_REPLY").is_some() {
        eprintln!("{call} => {:?}", outcome.as_ref().map(|call| &call.value));
    }
    match outcome {
        Ok(_) | Err(Error::Invoke { .. }) => {}
        // The guest trapped or hit a limit: it may not be entered again.
        Err(_) => *instance = None,
    }
});
