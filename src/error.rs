//! The one error type of the tool and the exit code each kind of failure means.
//!
//! Every layer returns [`Error`]; only [`Error::exit_code`] decides what the process exits with,
//! and only [`Error::from_http_status`] maps an HTTP status without a platform-specific meaning.

use serde::Serialize;

/// Everything that can end a run early, grouped by what the user should do about it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input or configuration, found before anything was sent.
    #[error("{0}")]
    Usage(String),
    /// No upgrade to roll back (or the platform does not allow a rollback now).
    #[error("{0}")]
    NothingToRollBack(Problem),
    /// The platform refused our credentials.
    #[error("{0}")]
    Auth(Problem),
    /// The wait ran out; the platform operation goes on.
    #[error("{0}")]
    TimedOut(Problem),
    /// The platform could not be reached (DNS, connect, TLS, 5xx after retries).
    #[error("{0}")]
    Unreachable(Problem),
    /// The rollback ran and the platform reported that it failed.
    #[error("{0}")]
    RollbackFailed(Problem),
    /// Rolled back, but `--verify` found the target unhealthy (or not healthy in time).
    #[error("{0}")]
    Unhealthy(Problem),
    /// The platform answered with an error that has no code of its own.
    #[error("{0}")]
    Platform(Problem),
    /// The platform answered something we cannot read (not JSON, missing fields, unknown state).
    #[error("{0}")]
    Unexpected(Problem),
    /// A rollback request may or may not have been received, and the state read afterwards
    /// does not show a rollback.
    #[error("{0}")]
    Unconfirmed(Problem),
    /// Ctrl-C typed at the prompt, or the confirmation declined.
    #[error("{0}")]
    Interrupted(Problem),
    /// A signal ended the run (Ctrl-C during the run, or how CI runners cancel a job).
    #[error("{1}")]
    Signal(Signal, Problem),
    /// The result could not be written to stdout.
    #[error("{0}")]
    Output(Problem),
    /// A bug: the panic hook's last word.
    #[error("{0}")]
    Internal(Problem),
    /// A fleet run in which some target did not succeed (each target's own document says why).
    #[error("{0}")]
    Fleet(Problem),
}

/// The signals that end a run the way Ctrl-C does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGINT (Ctrl-C).
    Interrupt,
    /// SIGHUP: the terminal went away.
    Hangup,
    /// SIGTERM: how CI runners and `kill` cancel a job.
    Terminate,
}

impl Signal {
    /// How a message names what happened.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Interrupt => "interrupted",
            Self::Hangup => "hung up (SIGHUP)",
            Self::Terminate => "terminated (SIGTERM)",
        }
    }
}

/// What went wrong, in words, plus the platform's own identifiers for it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Problem {
    pub message: String,
    pub http_status: Option<u16>,
    pub platform_code: Option<String>,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl Problem {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            ..Self::default()
        }
    }

    pub fn with_status(mut self, status: u16) -> Self {
        self.http_status = Some(status);
        self
    }

    pub fn with_code(mut self, code: Option<String>) -> Self {
        self.platform_code = code;
        self
    }
}

/// The `error` member of the result document.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ErrorDoc {
    pub kind: &'static str,
    pub message: String,
    pub http_status: Option<u16>,
    pub platform_code: Option<String>,
}

impl Error {
    pub fn unexpected(message: impl Into<String>) -> Self {
        Self::Unexpected(Problem::new(message))
    }

    pub fn unreachable(message: impl Into<String>) -> Self {
        Self::Unreachable(Problem::new(message))
    }

    /// The exit code of the process (docs/exit-codes.md).
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Usage(_) => 2,
            Self::NothingToRollBack(_) => 3,
            Self::Auth(_) => 4,
            Self::TimedOut(_) => 5,
            Self::Unreachable(_) => 6,
            Self::Unhealthy(_) => 7,
            Self::RollbackFailed(_)
            | Self::Platform(_)
            | Self::Unexpected(_)
            | Self::Unconfirmed(_)
            | Self::Output(_)
            | Self::Internal(_) => 1,
            // 128 + the signal's number, as a shell reports a process the signal killed.
            Self::Interrupted(_) | Self::Signal(Signal::Interrupt, _) => 130,
            Self::Signal(Signal::Hangup, _) => 129,
            Self::Signal(Signal::Terminate, _) => 143,
            Self::Fleet(_) => 8,
        }
    }

    /// The `error.kind` of the result document.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Usage(_) => "usage",
            Self::NothingToRollBack(_) => "nothing_to_roll_back",
            Self::Auth(_) => "auth",
            Self::TimedOut(_) => "timed_out",
            Self::Unreachable(_) => "unreachable",
            Self::RollbackFailed(_) => "rollback_failed",
            Self::Unhealthy(_) => "unhealthy",
            Self::Platform(_) => "platform",
            Self::Unexpected(_) => "unexpected_answer",
            Self::Unconfirmed(_) => "unconfirmed",
            Self::Interrupted(_) | Self::Signal(..) => "interrupted",
            Self::Output(_) => "output",
            Self::Internal(_) => "internal",
            Self::Fleet(_) => "fleet",
        }
    }

    pub fn problem(&self) -> Problem {
        match self {
            Self::Usage(message) => Problem::new(message.clone()),
            Self::NothingToRollBack(p)
            | Self::Auth(p)
            | Self::TimedOut(p)
            | Self::Unreachable(p)
            | Self::RollbackFailed(p)
            | Self::Unhealthy(p)
            | Self::Platform(p)
            | Self::Unexpected(p)
            | Self::Unconfirmed(p)
            | Self::Interrupted(p)
            | Self::Signal(_, p)
            | Self::Output(p)
            | Self::Internal(p)
            | Self::Fleet(p) => p.clone(),
        }
    }

    pub fn to_doc(&self) -> ErrorDoc {
        let problem = self.problem();
        ErrorDoc {
            kind: self.kind(),
            message: problem.message,
            http_status: problem.http_status,
            platform_code: problem.platform_code,
        }
    }

    /// The variant for an HTTP error status whose body said nothing more specific.
    pub fn from_http_status(status: u16, problem: Problem) -> Self {
        let problem = problem.with_status(status);
        match status {
            401 | 403 => Self::Auth(problem),
            408 | 429 | 500..=599 => Self::Unreachable(problem),
            _ => Self::Platform(problem),
        }
    }
}

/// At most `max` bytes of a server answer, as text, for error messages.
/// Secrets are redacted before the cut, so that no part of one is left at the end.
pub fn excerpt(body: &[u8], max: usize) -> String {
    let whole = String::from_utf8_lossy(body);
    let whole = crate::redact::redact(&whole);
    let mut end = whole.len().min(max);
    while !whole.is_char_boundary(end) {
        end -= 1;
    }
    let text = &whole[..end];
    let mut out: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if whole.len() > max {
        out.push('…');
    }
    if out.is_empty() {
        out.push_str("(empty body)");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_contract() {
        let p = || Problem::new("x");
        assert_eq!(Error::Usage("x".into()).exit_code(), 2);
        assert_eq!(Error::NothingToRollBack(p()).exit_code(), 3);
        assert_eq!(Error::Auth(p()).exit_code(), 4);
        assert_eq!(Error::TimedOut(p()).exit_code(), 5);
        assert_eq!(Error::Unreachable(p()).exit_code(), 6);
        assert_eq!(Error::RollbackFailed(p()).exit_code(), 1);
        assert_eq!(Error::Platform(p()).exit_code(), 1);
        assert_eq!(Error::Unexpected(p()).exit_code(), 1);
        assert_eq!(Error::Unhealthy(p()).exit_code(), 7);
        assert_eq!(Error::Unconfirmed(p()).exit_code(), 1);
        assert_eq!(Error::Interrupted(p()).exit_code(), 130);
        assert_eq!(Error::Signal(Signal::Interrupt, p()).exit_code(), 130);
        assert_eq!(Error::Signal(Signal::Hangup, p()).exit_code(), 129);
        assert_eq!(Error::Signal(Signal::Terminate, p()).exit_code(), 143);
        assert_eq!(Error::Output(p()).exit_code(), 1);
        assert_eq!(Error::Internal(p()).exit_code(), 1);
    }

    #[test]
    fn http_status_map() {
        let e = |s| Error::from_http_status(s, Problem::new("x")).exit_code();
        assert_eq!(e(401), 4);
        assert_eq!(e(403), 4);
        assert_eq!(e(404), 1);
        assert_eq!(e(409), 1);
        assert_eq!(e(429), 6);
        assert_eq!(e(503), 6);
    }

    #[test]
    fn excerpt_is_short_and_single_line() {
        assert_eq!(
            excerpt(b"<html>\n<body>oops</body>", 200),
            "<html> <body>oops</body>"
        );
        assert_eq!(excerpt(b"abcdef", 3), "abc…");
        assert_eq!(excerpt(b"", 3), "(empty body)");
        assert_eq!(excerpt(&[0xff, b'a'], 10), "\u{fffd}a");
    }

    #[test]
    fn excerpt_never_leaves_part_of_a_secret() {
        crate::redact::register("EXCERPT-SECRET-123456");
        let body = b"xxxxxxxxxx EXCERPT-SECRET-123456 tail";
        assert_eq!(excerpt(body, 20), "xxxxxxxxxx <redacted\u{2026}");
        assert_eq!(excerpt(body, 200), "xxxxxxxxxx <redacted> tail");
    }
}
