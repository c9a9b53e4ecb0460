//! `rollback cloudsvc …`

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use crate::platforms::WatchArgs;

#[derive(Debug, Args)]
pub struct CloudsvcArgs {
    #[command(flatten)]
    pub connection: CloudsvcConnection,
    #[command(subcommand)]
    pub action: CloudsvcAction,
}

#[derive(Debug, Subcommand)]
pub enum CloudsvcAction {
    /// Roll back the deployment's update or upgrade, and wait for it.
    #[command(after_help = "Examples:
  rollback cloudsvc start --publish-settings prod.publishsettings --service shop --slot production
  rollback cloudsvc start --subscription SUB-ID --service shop --slot staging --cert mgmt.pem --yes
  rollback cloudsvc start --service shop --slot production --mode manual --dry-run")]
    Start {
        /// Auto proceeds alone; Manual walks each upgrade domain in turn [default: auto].
        #[arg(long, value_enum)]
        mode: Option<RollbackMode>,
        /// Go on even when role instances lose local data.
        #[arg(long)]
        force: bool,
    },
    /// Show the deployment's state and any update in progress.
    #[command(after_help = "Examples:
  rollback cloudsvc status --service shop --slot production
  rollback cloudsvc status --service shop --deployment shop-v2 --watch --json")]
    Status(WatchArgs),
    /// Walk one upgrade domain of a Manual update or rollback, and wait for it.
    #[command(after_help = "Examples:
  rollback cloudsvc walk --domain 1 --service shop --slot production
  rollback cloudsvc walk --domain 2 --service shop --slot production --yes")]
    Walk {
        /// The upgrade domain (zero-based) the deployment is waiting at.
        #[arg(long, value_name = "N")]
        domain: u32,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RollbackMode {
    Auto,
    Manual,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SlotArg {
    Production,
    Staging,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Cloud {
    Public,
    China,
    Usgov,
}

/// Which deployment, and how to reach the Service Management API. Each option also comes from
/// the environment or a profile.
#[derive(Debug, Args)]
#[command(next_help_heading = "Target and connection")]
pub struct CloudsvcConnection {
    /// Subscription id (else AZURE_SUBSCRIPTION_ID).
    #[arg(
        long,
        global = true,
        env = "ROLLBACK_CLOUDSVC_SUBSCRIPTION",
        value_name = "ID"
    )]
    pub subscription: Option<String>,
    /// Cloud service name.
    #[arg(
        long,
        global = true,
        env = "ROLLBACK_CLOUDSVC_SERVICE",
        value_name = "NAME"
    )]
    pub service: Option<String>,
    /// Deployment slot.
    #[arg(
        long,
        global = true,
        value_enum,
        env = "ROLLBACK_CLOUDSVC_SLOT",
        conflicts_with = "deployment"
    )]
    pub slot: Option<SlotArg>,
    /// Deployment name (instead of --slot).
    #[arg(
        long,
        global = true,
        env = "ROLLBACK_CLOUDSVC_DEPLOYMENT",
        value_name = "NAME"
    )]
    pub deployment: Option<String>,
    /// Management certificate with its key: PEM or PFX/PKCS#12.
    #[arg(
        long,
        global = true,
        env = "ROLLBACK_CLOUDSVC_CERT",
        value_name = "PATH",
        conflicts_with = "publish_settings"
    )]
    pub cert: Option<PathBuf>,
    /// Name of the environment variable holding the PFX password.
    #[arg(
        long,
        global = true,
        env = "ROLLBACK_CLOUDSVC_CERT_PASSWORD_ENV",
        value_name = "VAR"
    )]
    pub cert_password_env: Option<String>,
    /// A .publishsettings file: subscription, endpoint and management certificate.
    #[arg(
        long,
        global = true,
        env = "ROLLBACK_CLOUDSVC_PUBLISH_SETTINGS",
        value_name = "PATH"
    )]
    pub publish_settings: Option<PathBuf>,
    /// Read an Azure AD bearer token from stdin (else ROLLBACK_CLOUDSVC_TOKEN).
    #[arg(long, global = true)]
    pub token_stdin: bool,
    /// Azure cloud [default: public].
    #[arg(
        long,
        global = true,
        value_enum,
        env = "ROLLBACK_CLOUDSVC_CLOUD",
        conflicts_with = "endpoint"
    )]
    pub cloud: Option<Cloud>,
    /// Service Management endpoint URL (instead of --cloud).
    #[arg(
        long,
        global = true,
        env = "ROLLBACK_CLOUDSVC_ENDPOINT",
        value_name = "URL"
    )]
    pub endpoint: Option<String>,
    /// Extra CA certificate(s) to trust, PEM.
    #[arg(long, global = true, env = "ROLLBACK_CLOUDSVC_CA", value_name = "PATH")]
    pub ca: Option<PathBuf>,
    /// Do not verify the server's certificate.
    #[arg(long, global = true)]
    pub insecure: bool,
}

impl CloudsvcConnection {
    /// The first setting given of where and as whom to connect (`--sandbox` brings its own).
    pub fn given(&self) -> Option<&'static str> {
        crate::platforms::first_given(
            &[
                (
                    self.subscription.is_some(),
                    "--subscription (or ROLLBACK_CLOUDSVC_SUBSCRIPTION)",
                ),
                (self.cert.is_some(), "--cert (or ROLLBACK_CLOUDSVC_CERT)"),
                (
                    self.cert_password_env.is_some(),
                    "--cert-password-env (or ROLLBACK_CLOUDSVC_CERT_PASSWORD_ENV)",
                ),
                (
                    self.publish_settings.is_some(),
                    "--publish-settings (or ROLLBACK_CLOUDSVC_PUBLISH_SETTINGS)",
                ),
                (self.token_stdin, "--token-stdin"),
                (self.cloud.is_some(), "--cloud (or ROLLBACK_CLOUDSVC_CLOUD)"),
                (
                    self.endpoint.is_some(),
                    "--endpoint (or ROLLBACK_CLOUDSVC_ENDPOINT)",
                ),
                (self.ca.is_some(), "--ca (or ROLLBACK_CLOUDSVC_CA)"),
                (self.insecure, "--insecure"),
            ],
            &["ROLLBACK_CLOUDSVC_TOKEN", "AZURE_SUBSCRIPTION_ID"],
        )
    }
}
