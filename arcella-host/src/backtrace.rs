//! Guest backtraces as errors keep them: rendered as wasmtime does, with
//! the names the guest chose escaped, and read back for what they say
//! beyond the trap: a runaway recursion.
//!
//! A guest names its module and functions (the name section) and its source
//! files (DWARF). Rendered raw, a name with a newline forges frames, or any
//! line, wherever the backtrace is printed; escaped, each frame stays one line.
//!
//! Rust guests keep their stack in linear memory (`__stack_pointer`), so
//! unbounded recursion exhausts it long before wasmtime's own stack limit:
//! the pointer wraps below zero and the next frame's store traps as an
//! out-of-bounds access, which names nothing of the cause. The backtrace
//! does: the same frame, or the same few, over and over.
//!
//! The backtrace is read as text because text is what an error keeps and
//! what crosses the worker protocol.

use std::fmt::{self, Write as _};

use arcella_types::escape;

/// Fewest repeated frames taken for a runaway recursion. Wasmtime keeps the
/// innermost 20 frames of a trap by default, so a recursion this deep fills
/// most of what is kept.
const MIN_REPEATED_FRAMES: usize = 12;

/// Longest cycle of frames looked for: `a` → `b` → `a` → `b` is a cycle of two.
const MAX_CYCLE: usize = 4;

/// Innermost frames allowed before the repetition starts: the frame that
/// trapped may be a helper the recursive function called.
const MAX_LEADING_FRAMES: usize = 4;

/// A run of frames that repeats one cycle of functions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Recursion {
    /// The functions of one cycle, in call order.
    cycle: Vec<String>,
    /// How many frames the run spans.
    frames: usize,
    /// Whether the run reaches the outermost frame kept, so the real stack may be deeper.
    cut_off: bool,
}

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

/// The runaway recursion `backtrace` shows, if any.
pub(crate) fn runaway_recursion(backtrace: &str) -> Option<Recursion> {
    let frames: Vec<&str> = frame_names(backtrace).collect();
    for lead in 0..=MAX_LEADING_FRAMES {
        let Some(rest) = frames.get(lead..) else {
            break;
        };
        for period in 1..=MAX_CYCLE.min(rest.len()) {
            let run = period
                + rest
                    .iter()
                    .zip(&rest[period..])
                    .take_while(|(outer, inner)| outer == inner)
                    .count();
            if run >= MIN_REPEATED_FRAMES {
                return Some(Recursion {
                    // Innermost first in a backtrace; callers first in the cycle.
                    cycle: rest[..period]
                        .iter()
                        .rev()
                        .map(|name| (*name).to_string())
                        .collect(),
                    frames: run,
                    cut_off: lead + run == frames.len(),
                });
            }
        }
    }
    None
}

impl fmt::Display for Recursion {
    /// ``at least 20 frames of `deep` ``, or of `` `a` → `b` `` for a cycle.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.cut_off {
            f.write_str("at least ")?;
        }
        write!(f, "{} frames of ", thousands(self.frames))?;
        for (index, name) in self.cycle.iter().enumerate() {
            if index > 0 {
                f.write_str(" → ")?;
            }
            write!(f, "`{}`", escape(name))?;
        }
        Ok(())
    }
}

/// The function of each frame of a backtrace wasmtime rendered, innermost first.
///
/// A frame starts with `  <index>: [<offset> - ]<name>`; lines that go on
/// with inlined functions or source locations belong to the frame before.
/// `<name>` is the demangled symbol, or `<module>!<function>` without debug
/// info, shown here as the function alone.
fn frame_names(backtrace: &str) -> impl Iterator<Item = &str> {
    backtrace.lines().filter_map(|line| {
        let (index, rest) = line.trim_start().split_once(": ")?;
        if index.is_empty() || !index.bytes().all(|byte| byte.is_ascii_digit()) {
            return None;
        }
        let name = match rest.split_once(" - ") {
            Some((offset, name)) if offset.trim_start().starts_with("0x") => name,
            _ => rest,
        };
        Some(match name.split_once('!') {
            Some((module, function)) if !module.contains(char::is_whitespace) => function,
            _ => name,
        })
    })
}

/// `n` with commas between thousands: `10,000`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut text = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            text.push(',');
        }
        text.push(digit);
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

    #[test]
    fn a_rendered_recursion_is_found() {
        let (wasmtime_says, rendered) = trap_backtrace(
            r#"(module
                 (memory 1)
                 (global $sp (mut i32) (i32.const 1024))
                 (func $deep
                   (global.set $sp (i32.sub (global.get $sp) (i32.const 16)))
                   (i32.store (global.get $sp) (i32.const 1))
                   (call $deep))
                 (func (export "run") (call $deep)))"#,
        );
        assert_eq!(
            rendered, wasmtime_says,
            "the same layout, for names with nothing to escape"
        );
        let recursion = runaway_recursion(&rendered).unwrap();
        assert_eq!(recursion.to_string(), "at least 20 frames of `deep`");
    }

    fn rendered(names: &[&str]) -> String {
        let mut text = String::from("error while executing at wasm backtrace:\n");
        for (index, name) in names.iter().enumerate() {
            text.push_str(&format!(
                "  {index:>3}: {:#8x} - <unknown>!{name}\n",
                0x40 + index
            ));
        }
        text
    }

    #[test]
    fn a_function_that_fills_the_backtrace_is_a_recursion() {
        let recursion = runaway_recursion(&rendered(&["deep"; 20])).unwrap();
        assert_eq!(recursion.to_string(), "at least 20 frames of `deep`");
    }

    #[test]
    fn a_helper_that_trapped_and_the_outer_frames_are_not_part_of_it() {
        let mut names = vec!["memset", "alloc"];
        names.extend(["recurse::deep"; 10_000]);
        names.extend(["handle", "main"]);
        let recursion = runaway_recursion(&rendered(&names)).unwrap();
        assert_eq!(recursion.to_string(), "10,000 frames of `recurse::deep`");
    }

    #[test]
    fn mutual_recursion_is_shown_in_call_order() {
        let names: Vec<&str> = ["even", "odd"].into_iter().cycle().take(20).collect();
        let recursion = runaway_recursion(&rendered(&names)).unwrap();
        assert_eq!(
            recursion.to_string(),
            "at least 20 frames of `odd` → `even`"
        );
    }

    #[test]
    fn shallow_or_varied_stacks_are_not_recursions() {
        assert_eq!(runaway_recursion(&rendered(&["f"; 11])), None);
        let varied = [
            "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m",
        ];
        assert_eq!(runaway_recursion(&rendered(&varied)), None);
        assert_eq!(runaway_recursion(""), None);
    }

    #[test]
    fn symbols_with_source_lines_are_read_by_name() {
        let mut text = String::from("error while executing at wasm backtrace:\n");
        for index in 0..20 {
            text.push_str(&format!(
                "  {index:>3}:     0x5b - guest::deep\n                    at src/lib.rs:3:5\n"
            ));
        }
        let recursion = runaway_recursion(&text).unwrap();
        assert_eq!(recursion.to_string(), "at least 20 frames of `guest::deep`");
    }
}
