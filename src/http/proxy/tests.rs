use super::*;

fn proxies(vars: &[(&str, &str)]) -> Proxies {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Proxies::from_lookup(|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
}

type Vars<'a> = &'a [(&'a str, &'a str)];

fn route(vars: Vars<'_>, target: &str) -> String {
    match proxies(vars).route(&Url::parse(target).unwrap()) {
        Ok(Route::Proxy { url, var }) => format!("{url} {var}"),
        Ok(Route::Direct(why)) => format!("direct: {why}"),
        Err(error) => format!("error: {error}"),
    }
}

#[test]
fn the_variables_apply_as_curl_applies_them() {
    let p = "http://proxy.invalid:3128";
    let cases: &[(Vars<'_>, &str, &str)] = &[
        (
            &[("HTTPS_PROXY", p)],
            "https://a.invalid/",
            "http://proxy.invalid:3128/ HTTPS_PROXY",
        ),
        (
            &[
                ("https_proxy", p),
                ("HTTPS_PROXY", "http://other.invalid:1"),
            ],
            "https://a.invalid/",
            "http://proxy.invalid:3128/ https_proxy",
        ),
        (
            &[("HTTPS_PROXY", p)],
            "http://a.invalid/",
            "direct: no proxy variable applies",
        ),
        (
            &[("http_proxy", p)],
            "http://a.invalid/",
            "http://proxy.invalid:3128/ http_proxy",
        ),
        (
            &[("http_proxy", p)],
            "https://a.invalid/",
            "direct: no proxy variable applies",
        ),
        (
            &[("HTTP_PROXY", p)],
            "http://a.invalid/",
            "direct: no proxy variable applies; HTTP_PROXY is not read for http://, as curl does: set http_proxy",
        ),
        (
            &[("ALL_PROXY", p)],
            "http://a.invalid/",
            "http://proxy.invalid:3128/ ALL_PROXY",
        ),
        (
            &[("all_proxy", p), ("ALL_PROXY", "x")],
            "https://a.invalid/",
            "http://proxy.invalid:3128/ all_proxy",
        ),
        (
            &[("ALL_PROXY", "x"), ("HTTPS_PROXY", p)],
            "https://a.invalid/",
            "http://proxy.invalid:3128/ HTTPS_PROXY",
        ),
        (
            &[("https_proxy", " "), ("ALL_PROXY", p)],
            "https://a.invalid/",
            "http://proxy.invalid:3128/ ALL_PROXY",
        ),
        // Loopback: never, whatever the variables say.
        (
            &[("ALL_PROXY", p), ("http_proxy", p), ("https_proxy", p)],
            "http://127.0.0.1:8080/",
            "direct: a loopback address is never proxied",
        ),
        (
            &[("ALL_PROXY", p)],
            "https://localhost/",
            "direct: a loopback address is never proxied",
        ),
        (
            &[("ALL_PROXY", p)],
            "http://[::1]:1/",
            "direct: a loopback address is never proxied",
        ),
        (
            &[("ALL_PROXY", p)],
            "http://a.localhost/",
            "http://proxy.invalid:3128/ ALL_PROXY",
        ),
        // curl's defaults: http:// and port 1080.
        (
            &[("HTTPS_PROXY", "proxy.invalid")],
            "https://a.invalid/",
            "http://proxy.invalid:1080/ HTTPS_PROXY",
        ),
        (
            &[("HTTPS_PROXY", "http://proxy.invalid:80")],
            "https://a.invalid/",
            "http://proxy.invalid/ HTTPS_PROXY",
        ),
        (
            &[("HTTPS_PROXY", "https://proxy.invalid")],
            "https://a.invalid/",
            "https://proxy.invalid/ HTTPS_PROXY",
        ),
        (
            &[("HTTPS_PROXY", "[fd00::1]")],
            "https://a.invalid/",
            "http://[fd00::1]:1080/ HTTPS_PROXY",
        ),
        (
            &[("HTTPS_PROXY", "socks5h://u:secret@proxy.invalid")],
            "https://a.invalid/",
            "error: HTTPS_PROXY: socks5h://<redacted>@proxy.invalid: only http:// and https:// proxies are supported",
        ),
        (
            &[("HTTPS_PROXY", "http://u:secret@[::1")],
            "https://a.invalid/",
            "error: HTTPS_PROXY: http://<redacted>@[::1 is not a proxy URL (invalid IPv6 address)",
        ),
    ];
    for (vars, target, expected) in cases {
        assert_eq!(route(vars, target), *expected, "{vars:?} {target}");
    }
}

#[test]
fn no_proxy_exempts_names_domains_addresses_and_everything() {
    let exempted = [
        ("a.invalid", "https://a.invalid/"),
        ("A.Invalid.", "https://a.invalid./"),
        ("invalid", "https://x.a.invalid/"),
        (".invalid", "https://x.a.invalid/"),
        ("*.invalid", "https://a.invalid/"),
        ("other.invalid, a.invalid", "https://a.invalid/"),
        ("other.invalid a.invalid", "https://a.invalid/"),
        ("*", "https://a.invalid/"),
        ("10.1.2.3", "https://10.1.2.3:8443/"),
        ("10.0.0.0/8", "https://10.200.0.1/"),
        ("[fd00::1]", "https://[fd00::1]/"),
        ("fd00::/16", "https://[fd00::abcd]/"),
        ("0.0.0.0/0", "https://192.0.2.1/"),
    ];
    for (list, target) in exempted {
        let vars = [("HTTPS_PROXY", "http://p.invalid:3128"), ("NO_PROXY", list)];
        assert_eq!(
            route(&vars, target),
            "direct: NO_PROXY exempts it",
            "{list} {target}"
        );
    }
    let proxied = [
        ("a.invalid", "https://ba.invalid/"),
        ("x.a.invalid", "https://a.invalid/"),
        ("10.0.0.0/8", "https://11.0.0.1/"),
        ("10.0.0.0/33", "https://10.0.0.1/"),
        ("10.0.0.0/x", "https://10.0.0.1/"),
        ("fd00::/16", "https://10.0.0.1/"),
        ("invalid", "https://10.0.0.1/"),
        ("", "https://a.invalid/"),
        (".", "https://a.invalid/"),
    ];
    for (list, target) in proxied {
        let vars = [("HTTPS_PROXY", "http://p.invalid:3128"), ("no_proxy", list)];
        assert_eq!(
            route(&vars, target),
            "http://p.invalid:3128/ HTTPS_PROXY",
            "{list} {target}"
        );
    }
    let vars = [
        ("no_proxy", "a.invalid"),
        ("NO_PROXY", "*"),
        ("ALL_PROXY", "p.invalid:1"),
    ];
    assert_eq!(
        route(&vars, "https://b.invalid/"),
        "http://p.invalid:1/ ALL_PROXY"
    );
}

#[test]
fn proxies_are_shown_without_their_credentials() {
    let route = Route::Proxy {
        url: Url::parse("http://user:secret@p.invalid:3128").unwrap(),
        var: "HTTPS_PROXY",
    };
    assert_eq!(
        route.to_string(),
        "through the proxy http://p.invalid:3128 (from HTTPS_PROXY)"
    );
    assert_eq!(
        route.through(),
        " through the proxy http://p.invalid:3128 (from HTTPS_PROXY)"
    );
}
