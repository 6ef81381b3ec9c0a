//! What a command's run comes to, shared by the commands and the command
//! line: how it ended ([`Outcome`]) or the user's mistake that stopped it
//! ([`UserError`]). The commands import this, not [`crate::cli`].

/// How a command ended when it did not return an error; `main` turns it into an exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// All went well.
    Success,
    /// The component or the check failed, and the command has said why.
    Failed,
    /// A program's own exit code, passed through.
    Exited(i32),
}

/// A mistake of the user's, said in one line with a help line when there is something to suggest.
#[derive(Debug)]
pub struct UserError {
    /// What is wrong.
    pub message: String,
    /// What to do instead.
    pub help: Option<String>,
}

impl UserError {
    /// A user error saying `message`.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            help: None,
        }
    }

    /// Adds a help line.
    #[must_use]
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

impl std::fmt::Display for UserError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for UserError {}
