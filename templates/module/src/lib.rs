//! `{{name}}`: an Arcella module.
//!
//! The host calls `start` once with the `[config]` table of `arcella.toml`,
//! then `handle` for each event, then `stop`. Every call is logged through
//! the host's `logging` interface.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use arcella::component::logging::{Level, log};
use exports::arcella::component::{handler, lifecycle};

wit_bindgen::generate!({ path: "wit", world: "module" });

/// The greeting used when `[config]` sets none.
const DEFAULT_GREETING: &str = "Hello";

/// The `greeting` from `[config]`, set once by `start`.
static GREETING: OnceLock<String> = OnceLock::new();

/// How many `count` events this instance has handled.
static COUNT: AtomicU64 = AtomicU64::new(0);

/// The component; the host calls it through its `Guest` impl.
pub struct Component;

impl lifecycle::Guest for Component {
    fn start(config: Vec<(String, String)>) -> Result<(), String> {
        let greeting = config
            .into_iter()
            .find_map(|(key, value)| (key == "greeting").then_some(value))
            .unwrap_or_else(|| DEFAULT_GREETING.to_string());
        log(Level::Info, &format!("starting with greeting `{greeting}`"));
        GREETING
            .set(greeting)
            .map_err(|_| "`start` was called twice".to_string())
    }

    fn stop() -> Result<(), String> {
        log(Level::Info, "stopping");
        Ok(())
    }
}

impl handler::Guest for Component {
    fn handle(topic: String, payload: Vec<u8>) -> Result<Vec<u8>, String> {
        log(
            Level::Info,
            &format!("event on `{topic}` ({} bytes)", payload.len()),
        );
        match topic.as_str() {
            "greet" => {
                let greeting = GREETING.get().map_or(DEFAULT_GREETING, String::as_str);
                let name = String::from_utf8_lossy(&payload);
                Ok(format!("{greeting}, {name}!").into_bytes())
            }
            "count" => {
                let count = COUNT.fetch_add(1, Ordering::Relaxed) + 1;
                Ok(count.to_string().into_bytes())
            }
            other => Err(format!("unknown topic `{other}`")),
        }
    }
}

// Native builds (for tests) skip the exports: their names are not valid
// symbols outside wasm, and only the `.wasm` is ever run.
#[cfg(target_family = "wasm")]
export!(Component);
