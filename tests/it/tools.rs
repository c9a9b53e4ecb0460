//! The tools beside the platforms: completions, the man page, `config path` and `config show`.

use serde_json::{Value, json};

use crate::common::{Env, run_args};

/// Every command of the tree, as `rollback` names them.
const COMMANDS: &[&str] = &[
    "sf",
    "cluster",
    "app",
    "cloudsvc",
    "walk",
    "arcgis",
    "targets",
    "start",
    "status",
    "completions",
    "man",
    "schema",
    "config",
    "path",
    "show",
];

#[tokio::test(flavor = "multi_thread")]
async fn completions_of_every_shell_name_every_command() {
    for (shell, marker) in [
        ("bash", "complete -F _rollback"),
        ("zsh", "#compdef rollback"),
        ("fish", "complete -c rollback"),
        ("powershell", "Register-ArgumentCompleter"),
        ("elvish", "set edit:completion:arg-completer[rollback]"),
    ] {
        let run = run_args(&["completions", shell], &[]).await;
        assert_eq!(run.code, 0, "{shell}: {run:?}");
        assert_eq!(run.stderr, "", "{shell}");
        assert!(run.stdout.contains(marker), "{shell} lacks {marker:?}");
        for command in COMMANDS {
            assert!(run.stdout.contains(command), "{shell} lacks {command}");
        }
        // Options of the platforms and of the tools complete too.
        for option in ["endpoint", "subscription", "publish-settings", "dry-run"] {
            assert!(run.stdout.contains(option), "{shell} lacks {option}");
        }
    }
    let run = run_args(&["completions", "tcsh"], &[]).await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("invalid value 'tcsh'"), "{run:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_man_page_is_roff_with_every_command() {
    let run = run_args(&["man"], &[]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stderr, "");
    let page = &run.stdout;
    assert!(page.contains(".TH rollback 1"), "{page}");
    for section in [
        ".SH NAME",
        ".SH SYNOPSIS",
        ".SH DESCRIPTION",
        ".SH OPTIONS",
        ".SH COMMANDS",
    ] {
        assert!(page.contains(section), "lacks {section}");
    }
    for command in [
        "rollback sf",
        "rollback sf cluster start",
        "rollback sf cluster status",
        "rollback sf app start",
        "rollback sf app status",
        "rollback cloudsvc start",
        "rollback cloudsvc status",
        "rollback cloudsvc walk",
        "rollback arcgis targets",
        "rollback arcgis start",
        "rollback arcgis status",
        "rollback completions",
        "rollback man",
        "rollback schema",
        "rollback config path",
        "rollback config show",
    ] {
        assert!(
            page.contains(&format!(".SS \"{command}\"")),
            "lacks {command}"
        );
    }
    // A command's own arguments are under it; roff escapes the dashes.
    assert!(page.contains("\\-\\-domain N"), "walk's --domain");
    assert!(page.contains("\\-\\-to ID|previous"), "start's --to");
    // A platform's connection options under the platform, once.
    assert_eq!(page.matches("\\-\\-server\\-timeout SECONDS").count(), 1);
    assert!(!page.contains(".SS \"rollback help\""));
}

fn text_of(path: &std::path::Path) -> &str {
    path.to_str().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn config_path_names_the_file_and_what_chose_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mine.toml");
    std::fs::write(&file, "").unwrap();
    let file = text_of(&file);
    let xdg = dir.path().join("xdg");
    let home = dir.path().join("home");
    let cases: Vec<(Vec<&str>, Env, String)> = vec![
        (
            vec!["--config", file, "config", "path"],
            vec![("ROLLBACK_CONFIG", "/elsewhere.toml")],
            format!("{file} (exists; flag --config)\n"),
        ),
        (
            vec!["config", "path"],
            vec![("ROLLBACK_CONFIG", file)],
            format!("{file} (exists; environment ROLLBACK_CONFIG)\n"),
        ),
        (
            vec!["config", "path"],
            vec![("XDG_CONFIG_HOME", text_of(&xdg))],
            format!(
                "{}/rollback/config.toml (does not exist; environment XDG_CONFIG_HOME)\n",
                xdg.display()
            ),
        ),
        (
            vec!["config", "path"],
            vec![("XDG_CONFIG_HOME", ""), ("HOME", text_of(&home))],
            format!(
                "{}/.config/rollback/config.toml (does not exist; default)\n",
                home.display()
            ),
        ),
    ];
    for (args, env, expected) in cases {
        let run = run_args(&args, &env).await;
        assert_eq!(run.code, 0, "{run:?}");
        assert_eq!(run.stdout, expected, "{args:?} {env:?}");
    }
    let run = run_args(&["config", "path", "--json"], &[("ROLLBACK_CONFIG", file)]).await;
    assert_eq!(
        run.json(),
        json!({"path": file, "exists": true, "source": "environment", "origin": "ROLLBACK_CONFIG"})
    );
}

/// The setting `key` of a `config show --json` document.
fn setting<'a>(doc: &'a Value, key: &str) -> &'a Value {
    doc["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == key)
        .unwrap_or_else(|| panic!("no setting {key} in {doc:#}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn config_show_tells_where_each_value_came_from() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    let token_file = dir.path().join("arcgis-token");
    std::fs::write(&token_file, "file-MARKER-secret").unwrap();
    std::fs::write(
        &config,
        format!(
            "[profiles.prod]\ntimeout = \"5m\"\n\n[profiles.prod.sf]\nendpoint = \"https://prod:19080\"\nserver_timeout = 30\ntoken_env = \"PROD_TOKEN\"\n\n[profiles.prod.arcgis]\ntoken_file = \"{}\"\n",
            token_file.display()
        ),
    )
    .unwrap();
    let config = text_of(&config);
    let env = [
        ("ROLLBACK_PROFILE", "prod"),
        ("ROLLBACK_SF_API_VERSION", "7.0"),
        ("ROLLBACK_POLL_INTERVAL", "9s"),
        ("PROD_TOKEN", "env-MARKER-secret"),
        ("ROLLBACK_CLOUDSVC_TOKEN", "aad-MARKER-token"),
    ];
    let args = [
        "--config",
        config,
        "config",
        "show",
        "--poll-interval",
        "2s",
    ];
    let run = run_args(&args, &env).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        !run.stdout.contains("MARKER"),
        "a secret shown: {}",
        run.stdout
    );
    let line = |key: &str| -> Vec<String> {
        let line = run
            .stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(key))
            .unwrap_or_else(|| panic!("no {key} in {}", run.stdout));
        line.split_whitespace()
            .skip(1)
            .map(str::to_string)
            .collect()
    };
    assert_eq!(line("config_file"), [config, "flag", "--config"]);
    assert_eq!(line("profile"), ["prod", "environment", "ROLLBACK_PROFILE"]);
    // Flag beats the environment, which beats the profile, which beats the default.
    assert_eq!(line("poll_interval"), ["2s", "flag", "--poll-interval"]);
    assert_eq!(
        line("sf.api_version"),
        ["7.0", "environment", "ROLLBACK_SF_API_VERSION"]
    );
    assert_eq!(
        line("timeout"),
        ["5m", "config", "file", "profiles.prod.timeout"]
    );
    assert_eq!(
        line("sf.endpoint"),
        [
            "https://prod:19080",
            "config",
            "file",
            "profiles.prod.sf.endpoint"
        ]
    );
    assert_eq!(
        line("sf.server_timeout"),
        ["30", "config", "file", "profiles.prod.sf.server_timeout"]
    );
    assert_eq!(line("output"), ["text", "default"]);
    assert_eq!(line("cloudsvc.cloud"), ["public", "default"]);
    assert_eq!(line("sf.cert"), ["-", "unset"]);
    // Secrets: where they come from, never what they are.
    assert_eq!(
        line("sf.token"),
        ["<redacted>", "environment", "PROD_TOKEN"]
    );
    assert_eq!(
        line("cloudsvc.token"),
        ["<redacted>", "environment", "ROLLBACK_CLOUDSVC_TOKEN"]
    );
    assert_eq!(
        line("arcgis.token"),
        vec![
            "<redacted>".to_string(),
            "file".into(),
            text_of(&token_file).into()
        ]
    );
    assert_eq!(line("arcgis.password"), ["-", "unset"]);
    let audit = line("audit_log");
    assert!(audit[0].ends_with("/rollback/audit.jsonl"), "{audit:?}");
    assert_eq!(audit[1..], ["default"]);

    // The same as one JSON document.
    let run = run_args(&[&args[..], &["--json"]].concat(), &env).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        !run.stdout.contains("MARKER"),
        "a secret shown: {}",
        run.stdout
    );
    let doc = run.json();
    assert_eq!(
        doc["config_file"],
        json!({"path": config, "exists": true, "source": "flag", "origin": "--config"})
    );
    assert_eq!(
        doc["profile"],
        json!({"key": "profile", "value": "prod", "source": "environment", "origin": "ROLLBACK_PROFILE"})
    );
    for (key, value, source, origin) in [
        ("output", json!("json"), "flag", json!("--json")),
        (
            "poll_interval",
            json!("2s"),
            "flag",
            json!("--poll-interval"),
        ),
        (
            "sf.api_version",
            json!("7.0"),
            "environment",
            json!("ROLLBACK_SF_API_VERSION"),
        ),
        (
            "timeout",
            json!("5m"),
            "profile",
            json!("profiles.prod.timeout"),
        ),
        (
            "sf.endpoint",
            json!("https://prod:19080"),
            "profile",
            json!("profiles.prod.sf.endpoint"),
        ),
        (
            "sf.server_timeout",
            json!("30"),
            "profile",
            json!("profiles.prod.sf.server_timeout"),
        ),
        ("sf.insecure", json!("false"), "default", Value::Null),
        ("sf.key", Value::Null, "unset", Value::Null),
        (
            "sf.token",
            json!("<redacted>"),
            "environment",
            json!("PROD_TOKEN"),
        ),
        (
            "arcgis.token",
            json!("<redacted>"),
            "file",
            json!(text_of(&token_file)),
        ),
    ] {
        assert_eq!(
            setting(&doc, key),
            &json!({"key": key, "value": value, "source": source, "origin": origin}),
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn config_show_without_a_config_file_lists_defaults_and_the_audit_choice() {
    let run = run_args(&["config", "show", "--no-audit", "--json"], &[]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let doc = run.json();
    assert_eq!(doc["config_file"]["exists"], false);
    assert_eq!(doc["config_file"]["source"], "environment");
    assert_eq!(doc["config_file"]["origin"], "XDG_CONFIG_HOME");
    assert_eq!(
        doc["profile"],
        json!({"key": "profile", "value": null, "source": "unset", "origin": null})
    );
    assert_eq!(
        setting(&doc, "audit_log"),
        &json!({"key": "audit_log", "value": null, "source": "flag", "origin": "--no-audit"})
    );
    assert_eq!(
        setting(&doc, "timeout"),
        &json!({"key": "timeout", "value": "1h", "source": "default", "origin": null})
    );
    assert_eq!(
        setting(&doc, "sf.endpoint"),
        &json!({"key": "sf.endpoint", "value": "http://localhost:19080", "source": "default", "origin": null})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn config_show_of_a_broken_file_exits_2_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        "[profiles.prod]\ntimeout = \"5m\"\npoll_interval = 2s\n",
    )
    .unwrap();
    let config = text_of(&config);
    let run = run_args(&["--config", config, "config", "show"], &[]).await;
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr
            .starts_with(&format!("error: config file {config}: line 3, column 17: ")),
        "{run:?}"
    );
    // An unknown key is refused the same way.
    std::fs::write(config, "[profiles.prod.sf]\nendpont = \"x\"\n").unwrap();
    let run = run_args(&["--config", config, "config", "show"], &[]).await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("unknown field `endpont`"), "{run:?}");
}
