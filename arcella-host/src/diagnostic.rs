//! Diagnostics: the problems `check` and `install` find, each with a stable code.
//!
//! A diagnostic points into a source file (a manifest or a WIT file) by byte
//! span; renderers turn spans into lines and columns. Codes never change
//! meaning once published: the guide's diagnostics reference documents each.

use std::ops::Range;
use std::path::PathBuf;

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth a look; fails `check` only with `--deny-warnings`.
    Warning,
    /// The component or manifest cannot be used as it is.
    Error,
}

/// One problem, located in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The stable code, e.g. `A0101`.
    pub code: Code,
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong, in one sentence.
    pub message: String,
    /// The file the problem is in.
    pub file: PathBuf,
    /// Byte range in `file`, when the problem has a place.
    pub span: Option<Range<usize>>,
    /// What to write instead, when there is something to say.
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error with `code`'s default severity.
    pub fn new(code: Code, file: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Self {
            code,
            severity: code.severity(),
            message: message.into(),
            file: file.into(),
            span: None,
            help: None,
        }
    }

    /// Points the diagnostic at `span` in its file.
    #[must_use]
    pub fn at(mut self, span: Range<usize>) -> Self {
        self.span = Some(span);
        self
    }

    /// Adds a help line.
    #[must_use]
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Whether this diagnostic is an error.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// 1-based line and column of byte `offset` in `source` (columns count characters).
pub fn line_column(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let offset = (0..=offset)
        .rev()
        .find(|i| source.is_char_boundary(*i))
        .unwrap_or(0);
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = source[line_start..offset].chars().count() + 1;
    (line, column)
}

macro_rules! codes {
    ($( $(#[$doc:meta])* $variant:ident = $code:literal, $severity:ident, $title:literal; )*) => {
        /// Every diagnostic code Arcella emits.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code {
            $( $(#[$doc])* $variant, )*
        }

        impl Code {
            /// All codes, in order; the guide's reference lists exactly these.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The code as printed, e.g. `A0101`.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $code,)* }
            }

            /// A short title for the reference.
            pub fn title(self) -> &'static str {
                match self { $(Code::$variant => $title,)* }
            }

            /// The severity diagnostics with this code have.
            pub fn severity(self) -> Severity {
                match self { $(Code::$variant => Severity::$severity,)* }
            }
        }
    };
}

codes! {
    /// The manifest could not be read as UTF-8 text.
    ManifestNotUtf8 = "A0001", Error, "manifest is not UTF-8";
    /// The manifest is not valid TOML.
    ManifestSyntax = "A0002", Error, "manifest is not valid TOML";
    /// The manifest is larger than Arcella will read.
    ManifestTooLarge = "A0003", Error, "manifest is too large";
    /// A key that Arcella does not know.
    UnknownKey = "A0101", Error, "unknown key";
    /// A required key is missing.
    MissingKey = "A0102", Error, "missing required key";
    /// A value has the wrong TOML type.
    WrongType = "A0103", Error, "value has the wrong type";
    /// `module.name` is not lowercase kebab-case.
    InvalidName = "A0104", Error, "invalid module name";
    /// `module.version` is not semver.
    InvalidVersion = "A0105", Error, "invalid module version";
    /// `module.isolation` is neither `main` nor `worker`.
    InvalidIsolation = "A0106", Error, "invalid isolation";
    /// `isolation = "main"` without `trusted = true`.
    MainRequiresTrusted = "A0107", Error, "main isolation requires trusted = true";
    /// `isolation = "main"` without `async = true`.
    MainRequiresAsync = "A0108", Error, "main isolation requires async = true";
    /// `group` set on a module that does not run in a worker.
    GroupWithoutWorker = "A0109", Error, "group is only for worker isolation";
    /// An entry of `exports` or `imports` is not an interface name.
    InvalidInterfaceName = "A0110", Error, "invalid interface name";
    /// `module.group` is not lowercase kebab-case.
    InvalidGroupName = "A0111", Error, "invalid group name";
    /// A limit is not a valid number, size or duration.
    InvalidLimit = "A0201", Error, "invalid limit";
    /// A limit is zero or beyond what the host allows.
    LimitOutOfRange = "A0202", Error, "limit out of range";
    /// An entry of `capabilities.env` is not a variable name.
    InvalidEnvName = "A0301", Error, "invalid environment variable name";
    /// An entry of `capabilities.dirs` is malformed.
    InvalidDirGrant = "A0302", Error, "invalid directory grant";
    /// A `dirs` entry points outside the manifest's folder.
    DirEscapesManifest = "A0303", Error, "directory grant escapes the manifest's folder";
    /// A `dirs` entry names a directory that does not exist.
    DirMissing = "A0304", Warning, "granted directory does not exist";
    /// An entry of `capabilities.http` is not a host pattern.
    InvalidHostPattern = "A0305", Error, "invalid host pattern";
    /// A `dirs` entry grants the manifest's own folder, and so the manifest.
    DirGrantsManifest = "A0306", Warning, "directory grant exposes the manifest";
    /// An entry of `capabilities.sockets` is not `tcp://HOST:PORT` or `udp://HOST:PORT`.
    InvalidSocketGrant = "A0307", Error, "invalid socket grant";
    /// An entry of `capabilities.keyvalue` is not a bucket name (empty,
    /// over 255 bytes, or with a control character).
    InvalidBucketName = "A0308", Error, "invalid keyvalue bucket name";
    /// A value in `[config]` is not a string, number or boolean.
    InvalidConfigValue = "A0401", Error, "invalid config value";
    /// A key appears twice in a list where it should be unique.
    DuplicateEntry = "A0402", Warning, "duplicate entry";
    /// A `[config]` value `{ env = … }` that does not name one environment variable.
    InvalidConfigReference = "A0403", Error, "invalid config environment reference";
    /// A WIT file does not parse or resolve.
    WitSyntax = "A0501", Error, "WIT does not parse";
    /// The manifest names an interface that the crate's WIT does not define.
    UnknownInterface = "A0502", Error, "interface not found in WIT";
    /// The crate has no `wit/` folder to check the manifest against.
    WitMissing = "A0503", Warning, "no WIT folder";
    /// The file is not a WebAssembly component.
    NotAComponent = "A0601", Error, "not a WebAssembly component";
    /// The component does not export an interface the manifest requires.
    MissingExport = "A0602", Error, "component does not export a declared interface";
    /// The component imports an interface the manifest does not declare.
    UndeclaredImport = "A0603", Error, "component imports an undeclared interface";
    /// The component imports an interface that needs a capability not granted.
    CapabilityNotGranted = "A0604", Error, "import needs a capability that is not granted";
    /// The component is larger than the host accepts.
    ComponentTooLarge = "A0605", Error, "component is too large";
    /// The built component is older than the crate's sources.
    ComponentStale = "A0606", Warning, "built component is older than its sources";
    /// The component imports `wasi:sockets` but no endpoint is granted.
    SocketsNotGranted = "A0607", Warning, "sockets imported but no endpoint granted";
    /// The component imports `wasi:keyvalue` but no bucket is granted.
    KeyValueNotGranted = "A0608", Warning, "keyvalue imported but no bucket granted";
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_well_formed() {
        let mut seen = std::collections::HashSet::new();
        for code in Code::ALL {
            assert!(seen.insert(code.as_str()), "duplicate {code}");
            assert!(code.as_str().starts_with('A') && code.as_str().len() == 5);
        }
    }

    #[test]
    fn line_column_counts_from_one_and_in_characters() {
        let source = "a = 1\nné = 2\n";
        assert_eq!(line_column(source, 0), (1, 1));
        assert_eq!(line_column(source, 6), (2, 1));
        assert_eq!(line_column(source, 9), (2, 3));
        assert_eq!(line_column(source, 1000), (3, 1));
    }
}
