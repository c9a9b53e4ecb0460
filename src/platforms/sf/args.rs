//! `rollback sf …`

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::platforms::{Scope, Under, WatchArgs};

/// `rollback sf cluster …` and `rollback sf app …`: the connection, then the scope.
pub type SfArgs = Under<SfConnection, SfScope>;

#[derive(Debug, Subcommand)]
pub enum SfScope {
    /// The cluster's code/configuration upgrade.
    Cluster {
        #[command(subcommand)]
        action: ClusterAction,
    },
    /// An application upgrade.
    App {
        #[command(subcommand)]
        action: AppAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum ClusterAction {
    /// Roll back the cluster upgrade that is rolling forward, and wait for it.
    #[command(after_help = "Examples:
  rollback sf cluster start --endpoint https://sf.example.com:19080 --cert admin.pem --key admin.key
  rollback sf cluster start --dry-run
  rollback sf cluster start --yes --no-wait --json")]
    Start,
    /// Show the cluster upgrade's state.
    #[command(after_help = "Examples:
  rollback sf cluster status
  rollback sf cluster status --watch --timeout 45m")]
    Status(WatchArgs),
}

#[derive(Debug, Subcommand)]
pub enum AppAction {
    /// Roll back the application's upgrade that is rolling forward, and wait for it.
    #[command(after_help = "Examples:
  rollback sf app start fabric:/myapp/app1
  rollback sf app start myapp~app1 --yes --if-upgrading --json
  rollback sf app start fabric:/myapp/app1 --dry-run --endpoint https://sf.example.com:19080")]
    Start {
        /// Application id (myapp~app1) or name (fabric:/myapp/app1).
        app: String,
    },
    /// Show the application upgrade's state.
    #[command(after_help = "Examples:
  rollback sf app status fabric:/myapp/app1
  rollback sf app status myapp~app1 --watch --json")]
    Status {
        /// Application id (myapp~app1) or name (fabric:/myapp/app1).
        app: String,
        #[command(flatten)]
        watch: WatchArgs,
    },
}

/// How to reach the cluster. Each option also comes from the environment or a profile.
#[derive(Debug, Args)]
#[command(next_help_heading = "Connection")]
pub struct SfConnection {
    /// HTTP gateway URL [default: http://localhost:19080].
    #[arg(long, global = true, env = "ROLLBACK_SF_ENDPOINT", value_name = "URL")]
    pub endpoint: Option<String>,
    /// Client certificate: PEM (with --key unless it holds the key) or PFX/PKCS#12.
    #[arg(long, global = true, env = "ROLLBACK_SF_CERT", value_name = "PATH")]
    pub cert: Option<PathBuf>,
    /// Private key of a PEM --cert.
    #[arg(long, global = true, env = "ROLLBACK_SF_KEY", value_name = "PATH")]
    pub key: Option<PathBuf>,
    /// Name of the environment variable holding the PFX password.
    #[arg(
        long,
        global = true,
        env = "ROLLBACK_SF_CERT_PASSWORD_ENV",
        value_name = "VAR"
    )]
    pub cert_password_env: Option<String>,
    /// Extra CA certificate(s) to trust, PEM.
    #[arg(long, global = true, env = "ROLLBACK_SF_CA", value_name = "PATH")]
    pub ca: Option<PathBuf>,
    /// Do not verify the server's certificate.
    #[arg(long, global = true)]
    pub insecure: bool,
    /// Read the bearer token from stdin (else ROLLBACK_SF_TOKEN).
    #[arg(long, global = true)]
    pub token_stdin: bool,
    /// REST api-version [default: 6.0].
    #[arg(
        long,
        global = true,
        env = "ROLLBACK_SF_API_VERSION",
        value_name = "VERSION"
    )]
    pub api_version: Option<String>,
    /// Server-side timeout in seconds, sent as the `timeout` query parameter.
    #[arg(long, global = true, env = "ROLLBACK_SF_SERVER_TIMEOUT", value_name = "SECONDS",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub server_timeout: Option<u32>,
}

impl SfConnection {
    /// The first setting given of where and as whom to connect (`--sandbox` brings its own).
    pub fn given(&self) -> Option<&'static str> {
        crate::platforms::first_given(
            &[
                (
                    self.endpoint.is_some(),
                    "--endpoint (or ROLLBACK_SF_ENDPOINT)",
                ),
                (self.cert.is_some(), "--cert (or ROLLBACK_SF_CERT)"),
                (self.key.is_some(), "--key (or ROLLBACK_SF_KEY)"),
                (
                    self.cert_password_env.is_some(),
                    "--cert-password-env (or ROLLBACK_SF_CERT_PASSWORD_ENV)",
                ),
                (self.ca.is_some(), "--ca (or ROLLBACK_SF_CA)"),
                (self.insecure, "--insecure"),
                (self.token_stdin, "--token-stdin"),
            ],
            &["ROLLBACK_SF_TOKEN"],
        )
    }
}

impl Scope for SfScope {
    fn augment(cmd: clap::Command) -> clap::Command {
        Self::augment_subcommands(cmd).subcommand_required(true)
    }
}
