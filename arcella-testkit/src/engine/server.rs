//! The host process the testkit runs components in: `cargo-arcella` started
//! by the first harness of a test binary, shared by all the harnesses of
//! that binary, gone when it is.
//!
//! Started with `ARCELLA_TESTKIT_HOST=1`, it listens on a Unix socket in a
//! fresh folder only its user can enter, and prints one line on stdout:
//! `arcella-testkit-host PROTOCOL VERSION SOCKET`. Each harness connects
//! once and is served by a thread of its own (its [`Engine`]), so tests
//! that run in parallel run in parallel here too. Its stdin is the test
//! binary's lifeline: when it closes (the test binary exited, or was
//! killed), the host removes its folder and exits, and its workers follow.

use std::io::{BufRead as _, Write as _};
use std::os::unix::fs::DirBuilderExt as _;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

use super::Engine;
use crate::error::Error;
use crate::protocol::{HOST_MODE_ENV, PROTOCOL, READY, Reply, Request, read_frame, write_frame};

/// Serves as the testkit's host and exits, when this process was started
/// as one (`ARCELLA_TESTKIT_HOST=1`); returns at once otherwise. Call it
/// first in `main`, next to `arcella_host::worker::run_if_worker`.
pub fn run_if_host() {
    if std::env::var_os(HOST_MODE_ENV).is_none_or(|value| value != "1") {
        return;
    }
    let code = match serve() {
        Ok(()) => 0,
        Err(error) => {
            eprintln!("arcella testkit host: {error}");
            1
        }
    };
    std::process::exit(code);
}

fn serve() -> std::io::Result<()> {
    let folder = private_folder()?;
    let socket = folder.join("host.sock");
    let listener = UnixListener::bind(&socket)?;
    let own_exe = std::env::current_exe().ok();

    let lifeline_folder = folder.clone();
    std::thread::Builder::new()
        .name("arcella-testkit-lifeline".into())
        .spawn(move || {
            // Nothing is ever written here: EOF means the test binary is gone.
            let mut line = String::new();
            let _ = std::io::stdin().lock().read_line(&mut line);
            let _ = std::fs::remove_dir_all(&lifeline_folder);
            std::process::exit(0);
        })?;

    let mut stdout = std::io::stdout().lock();
    writeln!(
        stdout,
        "{READY} {PROTOCOL} {} {}",
        env!("CARGO_PKG_VERSION"),
        socket.display()
    )?;
    stdout.flush()?;
    drop(stdout);

    for connection in listener.incoming() {
        let Ok(connection) = connection else { continue };
        let own_exe = own_exe.clone();
        std::thread::Builder::new()
            .name("arcella-testkit-session".into())
            .spawn(move || session(connection, own_exe.as_deref()))?;
    }
    Ok(())
}

/// A folder for the socket that only this user can enter.
fn private_folder() -> std::io::Result<PathBuf> {
    let base = std::env::temp_dir();
    for attempt in 0..100u32 {
        let folder = base.join(format!("arcella-testkit-{}-{attempt}", std::process::id()));
        match std::fs::DirBuilder::new().mode(0o700).create(&folder) {
            Ok(()) => return Ok(folder),
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(error) => return Err(error),
        }
    }
    Err(std::io::Error::other(format!(
        "cannot make a private folder in {}",
        base.display()
    )))
}

/// Serves one harness until it hangs up.
fn session(mut connection: UnixStream, own_exe: Option<&Path>) {
    let Ok(Some(Request::Install(setup))) = read_frame::<Request>(&mut connection) else {
        return;
    };
    let mut engine = match Engine::install(&setup, own_exe) {
        Ok((engine, installed)) => {
            if write_frame(&mut connection, &Reply::Installed(installed)).is_err() {
                return;
            }
            engine
        }
        Err(error) => {
            let _ = write_frame(&mut connection, &Reply::Failed(error));
            return;
        }
    };
    loop {
        let request = match read_frame::<Request>(&mut connection) {
            Ok(Some(request)) => request,
            Ok(None) => return,
            Err(error) => {
                let problem = Error::HostLost {
                    what: format!("could not read the harness's request: {error}"),
                };
                let _ = write_frame(&mut connection, &Reply::Failed(problem));
                return;
            }
        };
        if write_frame(&mut connection, &engine.answer(request)).is_err() {
            return;
        }
    }
}
