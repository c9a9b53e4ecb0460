//! The simulated platforms behind `--sandbox` and `rollback sandbox`: one loopback HTTP server
//! answering as Service Fabric (`/`), Service Management (`/{subscription}/services/…`) and the
//! ArcGIS admin API (`/arcgis/…`) do, each target a state machine that advances with time.
//!
//! It is a server with its own documents: it shares no code with the clients (and imports
//! nothing of this crate), so a test against it checks the clients, not a copy of them.

mod arcgis;
mod clock;
mod cloudsvc;
mod credentials;
mod profile;
mod scenario;
mod serve;
mod sf;
mod state;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper::HeaderMap;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use clock::Now;
pub use profile::PROFILE;
pub use scenario::Scenario;

use credentials::Credentials;

/// What the sandbox tells about each request it answered: method, path, status.
pub type Log = Box<dyn Fn(&str, &str, u16) + Send + Sync>;

/// A request as the simulated platforms read it.
pub struct Request {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Request {
    /// A header's value, when it is text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The query's value for `key`, decoded.
    pub fn query_value(&self, key: &str) -> Option<String> {
        let query = self.query.as_deref()?;
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.into_owned())
    }

    /// The bearer token of the `Authorization` header (or another header of that form).
    pub fn bearer(&self, header: &str) -> Option<&str> {
        let value = self.header(header)?;
        let (scheme, token) = value.split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then_some(token.trim())
    }
}

/// An answer.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn new(status: u16, content_type: &'static str, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            headers: vec![("Content-Type", content_type.to_string())],
            body: body.into(),
        }
    }

    pub fn json(status: u16, value: &serde_json::Value) -> Self {
        Self::new(status, "application/json; charset=utf-8", value.to_string())
    }

    /// An answer with no body.
    pub fn empty(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub fn with_header(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, value));
        self
    }
}

/// Every simulated platform and the credentials they accept.
pub struct World {
    credentials: Credentials,
    sf: sf::Sf,
    cloudsvc: cloudsvc::Cloudsvc,
    arcgis: arcgis::Arcgis,
}

impl World {
    fn new(
        scenario: Option<Scenario>,
        credentials: Credentials,
        now: Now,
        apps: u32,
        per_domain: Option<Duration>,
    ) -> Self {
        let mut pace = scenario::pace(scenario);
        if let Some(per_domain) = per_domain {
            pace.per_domain = per_domain;
        }
        let unhealthy = scenario == Some(Scenario::Unhealthy);
        Self {
            credentials,
            sf: sf::Sf::with_apps(pace, unhealthy, now, apps),
            cloudsvc: cloudsvc::Cloudsvc::new(pace, unhealthy, now),
            arcgis: arcgis::Arcgis::new(pace, unhealthy, now),
        }
    }

    /// Answers one request at `now`, as the platform its path belongs to would.
    pub fn handle(&mut self, request: &Request, now: Now) -> Reply {
        let creds = &self.credentials;
        if request.path == "/arcgis" || request.path.starts_with("/arcgis/") {
            return self.arcgis.handle(request, creds, now);
        }
        let mut segments = request.path.trim_start_matches('/').split('/');
        let first = segments.next().unwrap_or_default();
        let second = segments.next();
        if cloudsvc::is_subscription(first) && matches!(second, Some("services" | "operations")) {
            return self.cloudsvc.handle(request, creds, now);
        }
        self.sf.handle(request, creds, now)
    }
}

/// A running sandbox: the server task and the credential files it wrote, both gone on drop.
pub struct Sandbox {
    addr: SocketAddr,
    scenario: Option<Scenario>,
    credentials: Credentials,
    task: JoinHandle<()>,
}

impl Sandbox {
    /// Serves on 127.0.0.1:`port` (0: any free port) on the current tokio runtime, with `apps`
    /// Service Fabric applications `myapp~app1` … `myapp~appN`, each mid-upgrade (more than
    /// one for a fleet's rehearsal or benchmark).
    pub async fn start_with_apps(
        port: u16,
        scenario: Option<Scenario>,
        log: Option<Log>,
        apps: u32,
    ) -> std::io::Result<Self> {
        Self::start_paced(port, scenario, log, apps, None).await
    }

    /// As [`Sandbox::start_with_apps`], with `per_domain` the time one upgrade domain of a
    /// rollback takes (instead of the scenario's): short, so that a benchmark measures the
    /// client rather than the simulated wait.
    pub async fn start_paced(
        port: u16,
        scenario: Option<Scenario>,
        log: Option<Log>,
        apps: u32,
        per_domain: Option<Duration>,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port))
            .await
            .map_err(|e| {
                std::io::Error::new(e.kind(), format!("cannot listen on 127.0.0.1:{port}: {e}"))
            })?;
        let addr = listener.local_addr()?;
        let credentials = Credentials::create(scenario == Some(Scenario::Auth))?;
        let world = World::new(
            scenario,
            credentials.clone(),
            Now::current(),
            apps,
            per_domain,
        );
        let task = tokio::spawn(serve::serve(listener, Arc::new(Mutex::new(world)), log));
        Ok(Self {
            addr,
            scenario,
            credentials,
            task,
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A config file with the profile [`PROFILE`] that points every platform at the sandbox.
    pub fn config(&self) -> String {
        profile::config(&self.origin(), self.scenario, &self.credentials)
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.task.abort();
        self.credentials.remove();
    }
}
