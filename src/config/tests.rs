use super::*;

/// A platform's section as a platform declares one.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Lab {
    endpoint: Option<String>,
    server_timeout: Option<u64>,
}

const LAB: &[Section] = &[Section {
    name: "sf",
    check: check::<Lab>,
    keys: &[
        Key::plain("endpoint", &[], Some("http://localhost:19080")),
        Key::plain("server_timeout", &[], None),
    ],
}];

#[test]
fn a_toml_error_names_its_line_and_column() {
    let path = Path::new("c.toml");
    let err = parse_config(
        "[profiles.p]\ntimeout = \"1m\"\npoll_interval = \n",
        path,
        LAB,
    )
    .unwrap_err();
    assert_eq!(err.exit_code(), 2);
    assert!(
        err.to_string()
            .starts_with("config file c.toml: line 3, column 17: "),
        "{err}"
    );
}

#[test]
fn profile_keys_show_their_value_and_origin() {
    let file = parse_config(
        "[profiles.p]\ntimeout = \"2m\"\n[profiles.p.sf]\nserver_timeout = 30\n",
        Path::new("c.toml"),
        LAB,
    )
    .unwrap();
    let mut profile = file.profiles.into_iter().next().unwrap().1;
    profile.name = Some("p".into());
    let shown = show::platform_keys(&profile, LAB);
    assert_eq!(
        shown,
        [
            Setting {
                key: "sf.endpoint".into(),
                value: Some("http://localhost:19080".into()),
                origin: show::Origin::Default,
            },
            Setting {
                key: "sf.server_timeout".into(),
                value: Some("30".into()),
                origin: show::Origin::Profile("profiles.p.sf.server_timeout".into()),
            },
        ]
    );
}

#[test]
fn config_refuses_inline_secrets_and_unknown_keys() {
    let path = Path::new("c.toml");
    let err = parse_config("[profiles.p.sf]\ntoken = \"abc\"\n", path, LAB).unwrap_err();
    assert!(
        err.to_string()
            .contains("profiles.p.sf.token: secrets are not read"),
        "{err}"
    );
    assert!(!err.to_string().contains("abc"));
    let err = parse_config("[profiles.p.sf]\nendpont = \"x\"\n", path, LAB).unwrap_err();
    assert!(err.to_string().contains("unknown field `endpont`"), "{err}");
    let err = parse_config("[profiles.p\n", path, LAB).unwrap_err();
    assert_eq!(err.exit_code(), 2);
    // A section no platform declares, and a misspelt shared key.
    for (text, key) in [
        ("[profiles.p.nope]\nx = 1\n", "nope"),
        ("[profiles.p]\ntimout = \"1s\"\n", "timout"),
    ] {
        let err = parse_config(text, path, LAB).unwrap_err();
        assert!(
            err.to_string().contains(&format!(
                "unknown field `{key}`, expected one of timeout, poll_interval, audit_log, sf"
            )),
            "{err}"
        );
    }
    let ok = parse_config(
        "[profiles.p.sf]\nendpoint = \"https://x:19080\"\nserver_timeout = 5\n",
        path,
        LAB,
    )
    .unwrap();
    let lab: Lab = ok.profiles["p"].section("sf").unwrap();
    assert_eq!(lab.server_timeout, Some(5));
    assert_eq!(lab.endpoint.as_deref(), Some("https://x:19080"));
    let none: Lab = ok.profiles["p"].section("cloudsvc").unwrap();
    assert!(none.endpoint.is_none());
}

#[test]
fn endpoints_are_checked() {
    assert!(parse_endpoint("https://sf.invalid:19080", "--endpoint").is_ok());
    for bad in [
        "sf:19080",
        "ftp://x",
        "http://",
        "not a url",
        "https://x/?a=b",
        "https://u:p@x/",
    ] {
        assert_eq!(
            parse_endpoint(bad, "--endpoint").unwrap_err().exit_code(),
            2,
            "{bad}"
        );
    }
}
