//! The host end to end, with WAT guests: lifecycle, limits, isolation and hostile guests.

mod support;

use std::sync::OnceLock;
use std::time::Duration;

use arcella_fixtures::{command_guest, module_guest};
use arcella_host::worker::WorkerCommand;
use arcella_host::{ComponentKind, Error, Host, HostOptions, Isolation, ModuleState, Stdio};
use support::manifest;

fn options() -> HostOptions {
    static CACHE: OnceLock<tempfile::TempDir> = OnceLock::new();
    let cache = CACHE.get_or_init(|| tempfile::tempdir().unwrap());
    HostOptions {
        cache: Some(arcella_host::cache::CompileCache::open(cache.path()).unwrap()),
        worker: WorkerCommand {
            program: env!("CARGO_BIN_EXE_arcella-worker").into(),
        },
        stdio: Stdio::Capture { limit: 1 << 20 },
        ..HostOptions::new().unwrap()
    }
}

fn guest() -> Vec<u8> {
    static GUEST: OnceLock<Vec<u8>> = OnceLock::new();
    GUEST.get_or_init(|| module_guest(false)).clone()
}

async fn started(isolation: Isolation, name: &str) -> Host {
    let mut host = Host::new(options());
    assert_eq!(
        host.install(manifest(name, isolation), guest())
            .await
            .unwrap(),
        ComponentKind::Module
    );
    host.start(name).await.unwrap();
    host
}

async fn module_logs_echoes_and_counts(isolation: Isolation) {
    let mut host = Host::new(options());
    host.install(manifest("echo", isolation), guest())
        .await
        .unwrap();
    assert_eq!(host.state("echo"), Some(ModuleState::Installed));

    let start = host.start("echo").await.unwrap();
    assert_eq!(start.logs.len(), 1);
    assert_eq!(
        start.logs[0].message, "hello",
        "start logs the first config value"
    );
    assert_eq!(host.state("echo"), Some(ModuleState::Running));

    let echo = host.handle("echo", "hello", b"world").await.unwrap();
    assert_eq!(echo.value, Ok(b"world".to_vec()));
    assert_eq!(echo.logs[0].message, "hello");
    assert!(echo.fuel > 0);

    assert_eq!(
        host.handle("echo", "count", b"").await.unwrap().value,
        Ok(vec![1])
    );
    assert_eq!(
        host.handle("echo", "count", b"").await.unwrap().value,
        Ok(vec![2])
    );
    assert_eq!(
        host.handle("echo", "error", b"").await.unwrap().value,
        Err("bad topic".to_string())
    );

    let stop = host.stop("echo").await.unwrap();
    assert_eq!(stop.logs[0].message, "stopped");
    assert_eq!(host.state("echo"), Some(ModuleState::Stopped));

    // A restart is a fresh instance: the count starts over.
    host.start("echo").await.unwrap();
    assert_eq!(
        host.handle("echo", "count", b"").await.unwrap().value,
        Ok(vec![1])
    );
}

#[tokio::test]
async fn a_module_logs_echoes_and_counts_in_process() {
    module_logs_echoes_and_counts(Isolation::Main).await;
}

#[tokio::test]
async fn a_module_logs_echoes_and_counts_in_a_worker() {
    module_logs_echoes_and_counts(Isolation::Worker).await;
}

/// Sends `topic` to a fresh module, expects `check` of the error, and that the host goes on.
async fn hostile(
    isolation: Isolation,
    topic: &str,
    tune: impl FnOnce(&mut arcella_host::Manifest),
) -> Error {
    let mut host = Host::new(options());
    let mut hostile = manifest("hostile", isolation);
    tune(&mut hostile);
    host.install(hostile, guest()).await.unwrap();
    host.install(manifest("bystander", isolation), guest())
        .await
        .unwrap();
    host.start("hostile").await.unwrap();
    host.start("bystander").await.unwrap();

    let error = host.handle("hostile", topic, b"").await.unwrap_err();
    assert_eq!(host.state("hostile"), Some(ModuleState::Failed));

    // The host goes on: another module answers, and the failed one starts afresh.
    assert_eq!(
        host.handle("bystander", "say", b"ok").await.unwrap().value,
        Ok(b"ok".to_vec())
    );
    host.start("hostile").await.unwrap();
    assert_eq!(
        host.handle("hostile", "say", b"again").await.unwrap().value,
        Ok(b"again".to_vec())
    );
    error
}

#[tokio::test]
async fn an_infinite_loop_runs_out_of_fuel() {
    for isolation in [Isolation::Main, Isolation::Worker] {
        let error = hostile(isolation, "loop", |m| m.limits.fuel = 2_000_000).await;
        assert!(
            matches!(
                error,
                Error::FuelExhausted {
                    limit: 2_000_000,
                    ..
                }
            ),
            "{error:?}"
        );
        assert_eq!(
            error.to_string(),
            "component 'hostile' ran out of fuel (limit 2000000)"
        );
    }
}

#[tokio::test]
async fn an_infinite_loop_with_ample_fuel_times_out() {
    for isolation in [Isolation::Main, Isolation::Worker] {
        let error = hostile(isolation, "loop", |m| {
            m.limits.fuel = u64::MAX / 2;
            m.limits.timeout = Duration::from_millis(200);
        })
        .await;
        assert!(
            matches!(error, Error::Timeout { after, .. } if after == Duration::from_millis(200)),
            "{error:?}"
        );
        assert_eq!(
            error.to_string(),
            "component 'hostile' timed out after 200ms"
        );
    }
}

#[tokio::test]
async fn a_memory_bomb_reaches_the_memory_limit() {
    for isolation in [Isolation::Main, Isolation::Worker] {
        let error = hostile(isolation, "grow", |m| m.limits.memory = 8 << 20).await;
        assert!(
            matches!(error, Error::MemoryLimit { limit, .. } if limit == 8 << 20),
            "{error:?}"
        );
        assert_eq!(
            error.to_string(),
            "component 'hostile' reached its memory limit of 8MiB"
        );
    }
}

#[tokio::test]
async fn unbounded_recursion_overflows_the_stack() {
    for isolation in [Isolation::Main, Isolation::Worker] {
        let error = hostile(isolation, "recurse", |_| {}).await;
        assert!(matches!(error, Error::StackOverflow { .. }), "{error:?}");
    }
}

#[tokio::test]
async fn a_trap_is_reported_with_its_backtrace() {
    let error = hostile(Isolation::Main, "trap", |_| {}).await;
    let Error::Trap {
        message, backtrace, ..
    } = &error
    else {
        panic!("expected a trap, got {error:?}")
    };
    assert!(message.contains("unreachable"), "{message}");
    assert!(
        backtrace
            .as_deref()
            .unwrap_or_default()
            .contains("wasm backtrace"),
        "{backtrace:?}"
    );
}

#[tokio::test]
async fn a_start_that_returns_an_error_fails_the_module() {
    for isolation in [Isolation::Main, Isolation::Worker] {
        let mut host = Host::new(options());
        host.install(manifest("grumpy", isolation), module_guest(true))
            .await
            .unwrap();
        let error = host.start("grumpy").await.unwrap_err();
        assert!(
            matches!(&error, Error::Guest { action, message, .. } if action == "start" && message == "refusing to start"),
            "{error:?}"
        );
        assert_eq!(host.state("grumpy"), Some(ModuleState::Failed));
    }
}

#[tokio::test]
async fn calls_in_the_wrong_state_are_typed_errors() {
    let mut host = Host::new(options());
    host.install(manifest("idle", Isolation::Main), guest())
        .await
        .unwrap();
    assert!(matches!(
        host.handle("idle", "x", b"").await,
        Err(Error::WrongState {
            state: ModuleState::Installed,
            ..
        })
    ));
    assert!(matches!(
        host.stop("idle").await,
        Err(Error::WrongState { .. })
    ));
    assert!(matches!(
        host.start("nobody").await,
        Err(Error::NotInstalled { .. })
    ));
    assert!(matches!(
        host.install(manifest("idle", Isolation::Main), guest())
            .await,
        Err(Error::AlreadyInstalled { .. })
    ));
    assert!(matches!(
        host.run("idle", &[]).await,
        Err(Error::WrongKind { .. })
    ));
    host.start("idle").await.unwrap();
    assert!(matches!(
        host.start("idle").await,
        Err(Error::WrongState {
            state: ModuleState::Running,
            ..
        })
    ));
}

#[tokio::test]
async fn a_killed_worker_fails_its_modules_and_the_next_start_brings_a_fresh_one() {
    let mut host = Host::new(options());
    let mut victim = manifest("victim", Isolation::Worker);
    victim.limits.fuel = u64::MAX / 2;
    victim.limits.timeout = Duration::from_secs(30);
    host.install(victim, guest()).await.unwrap();
    host.start("victim").await.unwrap();
    host.install(manifest("in-process", Isolation::Main), guest())
        .await
        .unwrap();
    host.start("in-process").await.unwrap();
    let pid = host.worker_pid("default").expect("a worker runs");

    let killer = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        std::process::Command::new("kill")
            .arg("-9")
            .arg(pid.to_string())
            .status()
            .unwrap();
    });
    let error = host.handle("victim", "loop", b"").await.unwrap_err();
    killer.await.unwrap();
    let Error::WorkerDied { group, cause } = &error else {
        panic!("expected a dead worker, got {error:?}")
    };
    assert_eq!(group, "default");
    assert!(cause.contains("signal 9"), "{cause}");
    assert_eq!(host.state("victim"), Some(ModuleState::Failed));

    assert_eq!(
        host.handle("in-process", "say", b"fine")
            .await
            .unwrap()
            .value,
        Ok(b"fine".to_vec())
    );
    host.start("victim").await.unwrap();
    assert_ne!(host.worker_pid("default"), Some(pid));
    assert_eq!(
        host.handle("victim", "say", b"back").await.unwrap().value,
        Ok(b"back".to_vec())
    );
}

#[tokio::test]
async fn an_update_that_fails_to_start_leaves_the_old_version_running() {
    for isolation in [Isolation::Main, Isolation::Worker] {
        let mut host = started(isolation, "svc").await;
        host.handle("svc", "count", b"").await.unwrap();
        let mut next = manifest("svc", isolation);
        next.module.version = semver::Version::new(0, 2, 0);
        let error = host.update(next, module_guest(true)).await.unwrap_err();
        assert!(
            matches!(&error, Error::UpdateFailed { running, .. } if running == "0.0.0"),
            "{error:?}"
        );
        assert!(error.to_string().contains("refusing to start"), "{error}");
        assert_eq!(host.state("svc"), Some(ModuleState::Running));
        assert_eq!(
            host.handle("svc", "count", b"").await.unwrap().value,
            Ok(vec![2]),
            "the old instance kept its state"
        );
    }
}

#[tokio::test]
async fn an_update_starts_the_new_version_before_retiring_the_old() {
    let mut host = started(Isolation::Worker, "svc").await;
    host.handle("svc", "count", b"").await.unwrap();
    let mut next = manifest("svc", Isolation::Worker);
    next.module.version = semver::Version::new(0, 2, 0);
    host.update(next, guest()).await.unwrap();
    assert_eq!(
        host.manifest("svc").unwrap().module.version.to_string(),
        "0.2.0"
    );
    assert_eq!(
        host.handle("svc", "count", b"").await.unwrap().value,
        Ok(vec![1])
    );
    host.remove("svc").await.unwrap();
    assert_eq!(host.state("svc"), None);
}

#[tokio::test]
async fn a_command_prints_and_exits_with_its_code() {
    for isolation in [Isolation::Main, Isolation::Worker] {
        let mut host = Host::new(options());
        host.install(
            manifest("cmd", isolation),
            command_guest("hi\n", 2, false, false),
        )
        .await
        .unwrap();
        let run = host.run("cmd", &["a".into()]).await.unwrap();
        assert_eq!(run.value.exit_code, 1);
        assert_eq!(run.value.stdout.bytes, b"hi\nhi\n");
        let mut ok = manifest("ok", isolation);
        ok.module.name = "ok".into();
        host.install(ok, command_guest("fine\n", 1, true, false))
            .await
            .unwrap();
        assert_eq!(host.run("ok", &[]).await.unwrap().value.exit_code, 0);
    }
}

#[tokio::test]
async fn an_output_flood_is_capped_not_buffered() {
    for isolation in [Isolation::Main, Isolation::Worker] {
        let mut host = Host::new(HostOptions {
            stdio: Stdio::Capture { limit: 1000 },
            ..options()
        });
        let chunk = "x".repeat(1000);
        host.install(
            manifest("flood", isolation),
            command_guest(&chunk, 20_000, true, false),
        )
        .await
        .unwrap();
        let run = host.run("flood", &[]).await.unwrap();
        assert_eq!(run.value.stdout.bytes.len(), 1000);
        assert_eq!(run.value.stdout.dropped, 20_000 * 1000 - 1000);
    }
}

#[tokio::test]
async fn a_spinning_command_runs_out_of_fuel() {
    let mut host = Host::new(options());
    host.install(
        manifest("spin", Isolation::Worker),
        command_guest("", 0, true, true),
    )
    .await
    .unwrap();
    let error = host.run("spin", &[]).await.unwrap_err();
    assert!(matches!(error, Error::FuelExhausted { .. }), "{error:?}");
}

#[tokio::test]
async fn an_oversized_component_is_refused_before_compiling() {
    let mut host = Host::new(HostOptions {
        max_component_size: 100,
        ..options()
    });
    let error = host
        .install(manifest("big", Isolation::Main), guest())
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::TooLarge { limit: 100, .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn garbage_is_refused_with_a_load_error() {
    let mut host = Host::new(options());
    for isolation in [Isolation::Main, Isolation::Worker] {
        let error = host
            .install(manifest("junk", isolation), b"\0asm garbage".to_vec())
            .await
            .unwrap_err();
        assert!(
            matches!(error, Error::Load { .. } | Error::Contract { .. }),
            "{error:?}"
        );
    }
}

#[tokio::test]
async fn any_export_can_be_invoked_with_wave_syntax() {
    for isolation in [Isolation::Main, Isolation::Worker] {
        let mut host = started(isolation, "wave").await;
        let call = host
            .invoke("wave", r#"handle("say", [104, 105])"#)
            .await
            .unwrap();
        assert_eq!(call.value, "ok([104, 105])");
        let call = host
            .invoke(
                "wave",
                "arcella:component/handler@0.1.0#handle(\"error\", [])",
            )
            .await
            .unwrap();
        assert_eq!(call.value, r#"err("bad topic")"#);

        // A call that does not fit is an error that leaves the module running.
        for bad in ["nope()", "handle(1, 2)", "handle(", "stop(1)"] {
            let error = host.invoke("wave", bad).await.unwrap_err();
            assert!(matches!(error, Error::Invoke { .. }), "{bad}: {error:?}");
            assert_eq!(host.state("wave"), Some(ModuleState::Running));
        }
        let error = host.invoke("wave", "nope()").await.unwrap_err();
        assert!(
            error
                .to_string()
                .contains("arcella:component/handler@0.1.0#handle"),
            "{error}"
        );
    }
}
