//! What guests ask of the services that hold their state and settings
//! (`wasi:keyvalue`, `wasi:config`), as plain data: one [`ServiceCall`] per
//! call. The host makes them (`arcella_host::Observers::on_service_call`);
//! the testkit shows them in a step's trace, one line each.
//!
//! Values are kept as a [`Preview`] (their size and first bytes), so that
//! a record stays small whatever the guest stores.

/// Bytes of a value a [`Preview`] keeps.
pub const PREVIEW_BYTES: usize = 32;

/// One call a guest made to a host service, and what it got.
///
/// Its `Display` is one line, as the testkit's trace shows it:
/// `keyvalue.increment("default", "/", 1) -> 3`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ServiceCall {
    /// The module that made it.
    pub module: String,
    /// The interface, without its version: `wasi:keyvalue/store`.
    pub interface: String,
    /// The function: `get`, `increment`, `get-all`…
    pub operation: String,
    /// The bucket of a keyvalue call: the one it was made on, or the one
    /// `open` asked for (`default` for `""`).
    pub bucket: Option<String>,
    /// The keys it named, in order.
    pub keys: Vec<String>,
    /// The values it wrote (`set`, `set-many`), in the order of `keys`.
    pub values: Vec<Preview>,
    /// What `increment` adds.
    pub delta: Option<u64>,
    /// The cursor `list-keys` was given.
    pub cursor: Option<u64>,
    /// What it got: an answer, or the error the guest saw.
    pub result: Result<Answer, String>,
}

/// What a [`ServiceCall`] answered.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Answer {
    /// Done, with nothing to return (`open`, `set`, `delete`, `set-many`,
    /// `delete-many`).
    Done,
    /// A value, or none (`get` of keyvalue and of config).
    Value(Option<Preview>),
    /// A value or none per key (`get-many`).
    Values(Vec<Option<Preview>>),
    /// Whether the key is there (`exists`).
    Exists(bool),
    /// A page of keys, and the cursor of the next page (`list-keys`).
    Keys {
        /// The keys, in order.
        keys: Vec<String>,
        /// Where the next page starts; `None` on the last page.
        cursor: Option<u64>,
    },
    /// The counter's new value (`increment`).
    Counter(u64),
    /// Every pair, sorted by key (`get-all` of config).
    Pairs(Vec<(String, Preview)>),
}

/// A value as a record keeps it: its size and its first [`PREVIEW_BYTES`] bytes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Preview {
    /// The value's size, in bytes.
    pub size: u64,
    /// Its first bytes.
    #[serde(with = "serde_bytes")]
    pub head: Vec<u8>,
}

impl Preview {
    /// The preview of `value`.
    pub fn of(value: &[u8]) -> Self {
        Self {
            size: value.len() as u64,
            head: value[..value.len().min(PREVIEW_BYTES)].to_vec(),
        }
    }

    /// Whether the preview holds the whole value.
    pub fn is_whole(&self) -> bool {
        self.head.len() as u64 == self.size
    }

    /// The head as text: UTF-8 (a character cut at the end is left out)
    /// without control characters other than newlines and tabs.
    fn text(&self) -> Option<&str> {
        let text = match std::str::from_utf8(&self.head) {
            Ok(text) => text,
            // Cut inside a character by the preview: the text before it.
            Err(error) if error.error_len().is_none() && !self.is_whole() => {
                std::str::from_utf8(&self.head[..error.valid_up_to()]).ok()?
            }
            Err(_) => return None,
        };
        text.chars()
            .all(|c| !c.is_control() || matches!(c, '\n' | '\t' | '\r'))
            .then_some(text)
    }
}

impl std::fmt::Display for Preview {
    /// `"text"` when it reads as text, else `hex 00ff…`; a preview of part
    /// of a value ends in `…` and the value's size: `"aaaa"… (4096 bytes)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.text() {
            Some(text) => write!(f, "{text:?}")?,
            None => {
                f.write_str("hex ")?;
                for byte in &self.head {
                    write!(f, "{byte:02x}")?;
                }
            }
        }
        if !self.is_whole() {
            write!(f, "… ({} bytes)", self.size)?;
        }
        Ok(())
    }
}

impl ServiceCall {
    /// A call of `module` to `interface`'s `operation`, answered [`Answer::Done`]
    /// until [`answered`](Self::answered) says otherwise.
    pub fn new(module: &str, interface: &str, operation: &str) -> Self {
        Self {
            module: module.to_string(),
            interface: interface.to_string(),
            operation: operation.to_string(),
            bucket: None,
            keys: Vec::new(),
            values: Vec::new(),
            delta: None,
            cursor: None,
            result: Ok(Answer::Done),
        }
    }

    /// The same call, made on `bucket`.
    pub fn bucket(self, bucket: Option<&str>) -> Self {
        Self {
            bucket: bucket.map(str::to_string),
            ..self
        }
    }

    /// The same call, naming `key`.
    pub fn key(mut self, key: &str) -> Self {
        self.keys.push(key.to_string());
        self
    }

    /// The same call, writing `value` (for the last key named).
    pub fn value(mut self, value: &[u8]) -> Self {
        self.values.push(Preview::of(value));
        self
    }

    /// The same call, with what it got.
    pub fn answered(self, result: Result<Answer, String>) -> Self {
        Self { result, ..self }
    }

    /// The service's short name, for the one-line form: `keyvalue`, `config`.
    fn service(&self) -> &str {
        self.interface
            .split_once(':')
            .map_or(self.interface.as_str(), |(_, rest)| {
                rest.split_once('/').map_or(rest, |(package, _)| package)
            })
    }
}

impl std::fmt::Display for ServiceCall {
    /// One line: the call with its arguments, then what it got.
    ///
    /// ```text
    /// keyvalue.open("default") -> ok
    /// keyvalue.set("default", "name", "Ada") -> ok
    /// keyvalue.get("default", "visits") -> "41"
    /// keyvalue.increment("default", "/", 1) -> 3
    /// config.get("greeting") -> none
    /// keyvalue.open("secrets") -> error: access-denied
    /// ```
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}(", self.service(), self.operation)?;
        let mut arguments: Vec<String> = Vec::new();
        if let Some(bucket) = &self.bucket {
            arguments.push(format!("{bucket:?}"));
        }
        let paired = !self.values.is_empty() && self.values.len() == self.keys.len();
        let batch = self.keys.len() > 1 || self.operation.ends_with("-many");
        if paired && batch {
            let pairs: Vec<String> = self
                .keys
                .iter()
                .zip(&self.values)
                .map(|(key, value)| format!("({key:?}, {value})"))
                .collect();
            arguments.push(format!("[{}]", pairs.join(", ")));
        } else if batch {
            arguments.push(format!("{:?}", self.keys));
        } else {
            arguments.extend(self.keys.iter().map(|key| format!("{key:?}")));
            arguments.extend(self.values.iter().map(ToString::to_string));
        }
        arguments.extend(self.delta.iter().map(ToString::to_string));
        arguments.extend(self.cursor.iter().map(|cursor| format!("cursor {cursor}")));
        write!(f, "{}) -> ", arguments.join(", "))?;
        match &self.result {
            Ok(answer) => write!(f, "{answer}"),
            Err(error) => write!(f, "error: {error}"),
        }
    }
}

impl std::fmt::Display for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let value = |value: &Option<Preview>| match value {
            Some(preview) => preview.to_string(),
            None => "none".to_string(),
        };
        match self {
            Self::Done => f.write_str("ok"),
            Self::Value(found) => f.write_str(&value(found)),
            Self::Values(found) => {
                let found: Vec<String> = found.iter().map(value).collect();
                write!(f, "[{}]", found.join(", "))
            }
            Self::Exists(exists) => write!(f, "{exists}"),
            Self::Keys { keys, cursor } => {
                write!(f, "{keys:?}")?;
                match cursor {
                    Some(cursor) => write!(f, ", next cursor {cursor}"),
                    None => Ok(()),
                }
            }
            Self::Counter(value) => write!(f, "{value}"),
            Self::Pairs(pairs) => {
                let pairs: Vec<String> = pairs
                    .iter()
                    .map(|(key, value)| format!("({key:?}, {value})"))
                    .collect();
                write!(f, "[{}]", pairs.join(", "))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(operation: &str) -> ServiceCall {
        ServiceCall::new("m", "wasi:keyvalue/store", operation).bucket(Some("default"))
    }

    #[test]
    fn previews_show_text_as_text_and_the_rest_as_hex_cut_at_32_bytes() {
        assert_eq!(Preview::of(b"Ada").to_string(), r#""Ada""#);
        assert_eq!(Preview::of(b"a\nb").to_string(), r#""a\nb""#);
        assert_eq!(Preview::of(&[0, 1, 0xff]).to_string(), "hex 0001ff");
        assert_eq!(Preview::of(b"").to_string(), r#""""#);
        let long = Preview::of(&[b'a'; 100]);
        assert_eq!(long.head.len(), PREVIEW_BYTES);
        assert_eq!(
            long.to_string(),
            format!("{:?}… (100 bytes)", "a".repeat(32))
        );
        // A character cut by the preview is left out; the value is still text.
        let mut cut = vec![b'a'; 31];
        cut.extend("é and more".as_bytes());
        assert_eq!(
            Preview::of(&cut).to_string(),
            format!("{:?}… (42 bytes)", "a".repeat(31))
        );
        // Invalid UTF-8 inside the value is not text.
        assert!(
            Preview::of(&[b'a', 0xc3, b'b'])
                .to_string()
                .starts_with("hex ")
        );
        assert!(Preview::of(b"\x1b[2J").to_string().starts_with("hex "));
    }

    #[test]
    fn a_call_reads_as_one_line() {
        let line = |call: ServiceCall| call.to_string();
        assert_eq!(
            line(call("open").answered(Ok(Answer::Done))),
            r#"keyvalue.open("default") -> ok"#
        );
        assert_eq!(
            line(call("set").key("name").value(b"Ada")),
            r#"keyvalue.set("default", "name", "Ada") -> ok"#
        );
        assert_eq!(
            line(call("get").key("k").answered(Ok(Answer::Value(None)))),
            r#"keyvalue.get("default", "k") -> none"#
        );
        let mut increment = ServiceCall::new("m", "wasi:keyvalue/atomics", "increment")
            .bucket(Some("default"))
            .key("/")
            .answered(Ok(Answer::Counter(3)));
        increment.delta = Some(1);
        assert_eq!(
            line(increment),
            r#"keyvalue.increment("default", "/", 1) -> 3"#
        );
        assert_eq!(
            line(
                ServiceCall::new("m", "wasi:keyvalue/batch", "set-many")
                    .bucket(Some("b"))
                    .key("a")
                    .value(b"1")
                    .key("b")
                    .value(b"2")
            ),
            r#"keyvalue.set-many("b", [("a", "1"), ("b", "2")]) -> ok"#
        );
        assert_eq!(
            line(
                ServiceCall::new("m", "wasi:keyvalue/batch", "get-many")
                    .bucket(Some("b"))
                    .key("a")
                    .answered(Ok(Answer::Values(vec![Some(Preview::of(b"1"))])))
            ),
            r#"keyvalue.get-many("b", ["a"]) -> ["1"]"#
        );
        let mut list = call("list-keys").answered(Ok(Answer::Keys {
            keys: vec!["a".into(), "b".into()],
            cursor: Some(2),
        }));
        list.cursor = Some(0);
        assert_eq!(
            line(list),
            r#"keyvalue.list-keys("default", cursor 0) -> ["a", "b"], next cursor 2"#
        );
        assert_eq!(
            line(call("open").answered(Err("access-denied".into()))),
            r#"keyvalue.open("default") -> error: access-denied"#
        );
        assert_eq!(
            line(
                ServiceCall::new("m", "wasi:config/store", "get-all").answered(Ok(Answer::Pairs(
                    vec![("greeting".into(), Preview::of(b"Hi"))]
                )))
            ),
            r#"config.get-all() -> [("greeting", "Hi")]"#
        );
    }

    #[test]
    fn a_guests_control_characters_are_escaped_in_the_line() {
        let shown = call("get").key("a\u{1b}[2Jb").to_string();
        assert!(!shown.contains('\u{1b}'), "{shown}");
    }
}
