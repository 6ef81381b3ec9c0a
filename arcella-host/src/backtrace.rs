//! Guest backtraces as errors keep them: rendered as wasmtime does, with
//! the names the guest chose escaped.
//!
//! A guest names its module and functions (the name section) and its source
//! files (DWARF). Rendered raw, a name with a newline forges frames, or any
//! line, wherever the backtrace is printed; escaped, each frame stays one line.

use std::fmt::Write as _;

use crate::terminal_text::escape;

/// `backtrace` laid out as wasmtime's `Display` lays it out (without its
/// note on `WASMTIME_BACKTRACE_DETAILS`), each name escaped: the form the
/// host's errors keep.
pub fn render(backtrace: &wasmtime::WasmBacktrace) -> String {
    let mut text = String::from("error while executing at wasm backtrace:");
    for (index, frame) in backtrace.frames().iter().enumerate() {
        let _ = write!(text, "\n  {index:>3}: ");
        if let Some(offset) = frame.module_offset() {
            let _ = write!(text, "{offset:#8x} - ");
        }
        let function = || {
            let mut name = String::new();
            let _ = wasmtime_environ::demangle_function_name_or_index(
                &mut name,
                frame.func_name(),
                frame.func_index() as usize,
            );
            name
        };
        if frame.symbols().is_empty() {
            let module = frame.module().name().unwrap_or("<unknown>");
            let _ = write!(text, "{}!{}", escape(module), escape(&function()));
        }
        for (position, symbol) in frame.symbols().iter().enumerate() {
            if position > 0 {
                text.push_str("\n                - ");
            }
            let name = match symbol.name() {
                Some(name) => {
                    let mut demangled = String::new();
                    let _ = wasmtime_environ::demangle_function_name(&mut demangled, name);
                    demangled
                }
                None if position == 0 => function(),
                None => "<inlined function>".to_string(),
            };
            let _ = write!(text, "{}", escape(&name));
            if let Some(file) = symbol.file() {
                let _ = write!(text, "\n                    at {}", escape(file));
                if let Some(line) = symbol.line() {
                    let _ = write!(text, ":{line}");
                    if let Some(column) = symbol.column() {
                        let _ = write!(text, ":{column}");
                    }
                }
            }
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The backtrace of a trap in `wat`'s exported `run`: as wasmtime renders it, and as we do.
    fn trap_backtrace(wat: &str) -> (String, String) {
        let engine = wasmtime::Engine::default();
        let module = wasmtime::Module::new(&engine, wat).unwrap();
        let mut store = wasmtime::Store::new(&engine, ());
        let instance = wasmtime::Instance::new(&mut store, &module, &[]).unwrap();
        let run = instance
            .get_typed_func::<(), ()>(&mut store, "run")
            .unwrap();
        let error = run.call(&mut store, ()).unwrap_err();
        let backtrace = error
            .downcast_ref::<wasmtime::WasmBacktrace>()
            .expect("wasmtime captures backtraces by default");
        (backtrace.to_string(), render(backtrace))
    }

    #[test]
    fn a_rendered_backtrace_is_wasmtimes_with_names_escaped() {
        let (wasmtime_says, rendered) = trap_backtrace(
            r#"(module (@name "mod\0a0: ")
                 (func $fails (@name "evil\1b[2J\0a  9: forged") unreachable)
                 (func (export "run") (call $fails)))"#,
        );
        assert!(
            wasmtime_says.contains("evil\u{1b}[2J\n  9: forged"),
            "{wasmtime_says}"
        );
        assert_eq!(
            rendered.lines().collect::<Vec<_>>(),
            [
                "error while executing at wasm backtrace:",
                "    0:     0x21 - mod\\n0: !evil\\u{1b}[2J\\n  9: forged",
                "    1:     0x25 - mod\\n0: !<wasm function 1>",
            ],
        );
    }
}
