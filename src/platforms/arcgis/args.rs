//! `rollback arcgis …`

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::platforms::WatchArgs;

#[derive(Debug, Args)]
pub struct ArcgisArgs {
    #[command(flatten)]
    pub connection: ArcgisConnection,
    #[command(subcommand)]
    pub action: ArcgisAction,
}

#[derive(Debug, Subcommand)]
pub enum ArcgisAction {
    /// List the versions the deployment can roll back to (Check Rollback).
    #[command(after_help = "Examples:
  rollback arcgis targets --url https://gis.example.com/arcgis --username admin
  rollback arcgis targets --json")]
    Targets,
    /// Roll back a patch, and wait for the job to finish.
    #[command(after_help = "Examples:
  rollback arcgis start --to previous --url https://gis.example.com/arcgis --username admin
  rollback arcgis start --to ID --yes --json   (ID from `rollback arcgis targets`)")]
    Start {
        /// An id from `targets`, or `previous` for the newest one.
        #[arg(long, value_name = "ID|previous")]
        to: String,
    },
    /// Show the upgrades job: state, code and messages.
    #[command(after_help = "Examples:
  rollback arcgis status --url https://gis.example.com/arcgis
  rollback arcgis status --watch --json")]
    Status(WatchArgs),
}

/// How to reach the Administrator API. Each option also comes from the environment or a
/// profile.
#[derive(Debug, Args)]
#[command(next_help_heading = "Connection")]
pub struct ArcgisConnection {
    /// The deployment's URL, https://HOST/CONTEXT.
    #[arg(long, global = true, env = "ROLLBACK_ARCGIS_URL", value_name = "URL")]
    pub url: Option<String>,
    /// Read the token from stdin (else ROLLBACK_ARCGIS_TOKEN).
    #[arg(long, global = true, conflicts_with = "password_stdin")]
    pub token_stdin: bool,
    /// A built-in account; the tool generates tokens with its password.
    #[arg(
        long,
        global = true,
        env = "ROLLBACK_ARCGIS_USERNAME",
        value_name = "NAME"
    )]
    pub username: Option<String>,
    /// Read the password from stdin (else ROLLBACK_ARCGIS_PASSWORD).
    #[arg(long, global = true)]
    pub password_stdin: bool,
    /// Extra CA certificate(s) to trust, PEM (a self-signed ingress certificate).
    #[arg(long, global = true, env = "ROLLBACK_ARCGIS_CA", value_name = "PATH")]
    pub ca: Option<PathBuf>,
    /// Do not verify the server's certificate.
    #[arg(long, global = true)]
    pub insecure: bool,
}

impl ArcgisConnection {
    /// The first setting given of where and as whom to connect (`--sandbox` brings its own).
    pub fn given(&self) -> Option<&'static str> {
        crate::platforms::first_given(
            &[
                (self.url.is_some(), "--url (or ROLLBACK_ARCGIS_URL)"),
                (self.token_stdin, "--token-stdin"),
                (
                    self.username.is_some(),
                    "--username (or ROLLBACK_ARCGIS_USERNAME)",
                ),
                (self.password_stdin, "--password-stdin"),
                (self.ca.is_some(), "--ca (or ROLLBACK_ARCGIS_CA)"),
                (self.insecure, "--insecure"),
            ],
            &["ROLLBACK_ARCGIS_TOKEN", "ROLLBACK_ARCGIS_PASSWORD"],
        )
    }
}
