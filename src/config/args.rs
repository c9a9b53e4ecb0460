//! The options every command shares (clap), and the durations they take.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};

/// Output format of the result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Human-readable text.
    Text,
    /// One JSON result document on stdout.
    Json,
    /// Progress events, one JSON object a line, then the result document.
    Jsonl,
}

/// When to colour stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// The options every command takes, shown after a command's own under their own heading.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Output format.
    #[arg(short = 'o', long, value_enum, global = true, env = "ROLLBACK_OUTPUT")]
    pub output: Option<OutputFormat>,
    /// Same as `--output json` (overrides ROLLBACK_OUTPUT).
    #[arg(long, global = true)]
    pub json: bool,
    /// Settings profile from the config file.
    #[arg(long, global = true, env = "ROLLBACK_PROFILE", value_name = "NAME")]
    pub profile: Option<String>,
    /// Config file [default: $XDG_CONFIG_HOME/rollback/config.toml].
    #[arg(long, global = true, env = "ROLLBACK_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// More logging on stderr (-v requests, -vv details).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Only errors (and the --insecure warning) on stderr.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Colour on stderr (NO_COLOR is honoured with auto).
    #[arg(
        long,
        value_enum,
        global = true,
        default_value = "auto",
        value_name = "WHEN"
    )]
    pub color: ColorChoice,
    /// Do not ask for confirmation.
    #[arg(short, long, global = true)]
    pub yes: bool,
    /// Do every read, print the request(s) that would change something, send none of them.
    #[arg(long, global = true)]
    pub dry_run: bool,
    /// Return once the platform accepted the rollback.
    #[arg(long, global = true)]
    pub no_wait: bool,
    /// Bound on the whole run, e.g. 90s, 45m, 2h [default: 1h].
    #[arg(long, global = true, env = "ROLLBACK_TIMEOUT", value_parser = parse_duration, value_name = "DURATION")]
    pub timeout: Option<Duration>,
    /// Time between status reads [default: per platform].
    #[arg(long, global = true, env = "ROLLBACK_POLL_INTERVAL", value_parser = parse_duration, value_name = "DURATION")]
    pub poll_interval: Option<Duration>,
    /// After the rollback, wait until the target is healthy (exit 7 if it is not).
    #[arg(long, global = true)]
    pub verify: bool,
    /// Bound on the health wait of --verify [default: 10m].
    #[arg(long, global = true, env = "ROLLBACK_VERIFY_TIMEOUT", value_parser = parse_duration, value_name = "DURATION")]
    pub verify_timeout: Option<Duration>,
    /// With --verify: Warning counts as unhealthy too.
    #[arg(long, global = true)]
    pub verify_strict: bool,
    /// Exit 0 instead of 3 when there is nothing to roll back.
    #[arg(long, global = true)]
    pub if_upgrading: bool,
    /// Append every mutating request to this file [default: $XDG_STATE_HOME/rollback/audit.jsonl].
    #[arg(long, global = true, env = "ROLLBACK_AUDIT_LOG", value_name = "PATH")]
    pub audit_log: Option<PathBuf>,
    /// Keep no audit trail (then a retried `start` cannot tell that it sent a rollback a moment ago).
    #[arg(long, global = true, conflicts_with = "audit_log")]
    pub no_audit: bool,
    /// The command line as typed, for `next:` hints (filled by `cli::parse`).
    #[arg(skip)]
    pub invocation: super::Invocation,
    /// Run against a sandbox started inside this process: every platform simulated on a
    /// loopback port, each target mid-upgrade. Connection options are refused with it.
    // `ROLLBACK_SANDBOX=1` (or true, yes, on) turns it on; 0, false, no, off and empty do not.
    #[arg(long, global = true, env = "ROLLBACK_SANDBOX", value_parser = clap::builder::FalseyValueParser::new())]
    pub sandbox: bool,
    /// With --sandbox: the outcome the sandbox rehearses.
    #[arg(
        long,
        global = true,
        value_enum,
        env = "ROLLBACK_SANDBOX_SCENARIO",
        value_name = "SCENARIO"
    )]
    pub sandbox_scenario: Option<crate::sandbox::Scenario>,
}

/// The longest `--timeout` or `--poll-interval`: 30 days. Longer values are refused rather
/// than clamped, since they are typing mistakes, and every deadline computed from a duration
/// stays far from the limits of `Instant`.
pub const MAX_DURATION: Duration = Duration::from_secs(30 * 24 * 3600);

/// A positive duration such as `90s`, `45m`, `1h30m` or `500ms`, at most [`MAX_DURATION`].
pub fn parse_duration(value: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(value.trim())
        .map_err(|e| format!("{e} (examples: 90s, 45m, 2h)"))?;
    if duration.is_zero() {
        return Err("must be greater than zero".into());
    }
    if duration > MAX_DURATION {
        return Err("must be at most 30 days (30d)".into());
    }
    Ok(duration)
}

/// A duration for a person: `850ms` under a second, else whole seconds as `1h 2m 3s`.
pub fn show_duration(duration: Duration) -> String {
    if duration < Duration::from_secs(1) {
        format!("{}ms", duration.as_millis())
    } else {
        humantime::format_duration(Duration::from_secs(duration.as_secs())).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_shown() {
        assert_eq!(show_duration(Duration::from_millis(850)), "850ms");
        assert_eq!(show_duration(Duration::ZERO), "0ms");
        assert_eq!(show_duration(Duration::from_millis(1850)), "1s");
        assert_eq!(show_duration(Duration::from_secs(3723)), "1h 2m 3s");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("50ms"), Ok(Duration::from_millis(50)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("10").is_err());
        assert_eq!(parse_duration("30d"), Ok(MAX_DURATION));
        for huge in [
            "30d 1s",
            "18446744073709551615s",
            "500000000000y",
            "18446744073709551615ns",
        ] {
            let err = parse_duration(huge).unwrap_err();
            assert!(
                err.contains("at most 30 days") || err.contains("overflow"),
                "{huge}: {err}"
            );
        }
    }
}
