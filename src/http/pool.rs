//! The reqwest clients of this process by what they were built from (TLS settings, timeout):
//! each holds a connection pool, so that the many targets of a fleet behind one endpoint, with
//! the same credentials, share connections instead of each opening its own.

use std::hash::{BuildHasher, Hash, Hasher, RandomState};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use super::tls::{IdentitySource, TlsOptions};

static CLIENTS: Mutex<Vec<(u64, reqwest::Client)>> = Mutex::new(Vec::new());

/// A keyed hash of everything a client is built from. The key is random per process, and a
/// password goes in only hashed, so that no secret is kept here.
pub fn key(tls: &TlsOptions, request_timeout: Duration) -> u64 {
    static SEED: OnceLock<RandomState> = OnceLock::new();
    let mut hasher = SEED.get_or_init(RandomState::new).build_hasher();
    match &tls.identity {
        None => 0u8.hash(&mut hasher),
        Some(IdentitySource::File(file)) => {
            1u8.hash(&mut hasher);
            file.cert.hash(&mut hasher);
            file.key.hash(&mut hasher);
            file.password.as_ref().map(|p| p.expose()).hash(&mut hasher);
        }
        Some(IdentitySource::Pkcs12 {
            label,
            der,
            password,
        }) => {
            2u8.hash(&mut hasher);
            label.hash(&mut hasher);
            der.hash(&mut hasher);
            password.as_ref().map(|p| p.expose()).hash(&mut hasher);
        }
    }
    tls.ca.hash(&mut hasher);
    tls.insecure.hash(&mut hasher);
    request_timeout.hash(&mut hasher);
    hasher.finish()
}

/// The client built earlier from the same settings.
pub fn get(key: u64) -> Option<reqwest::Client> {
    let clients = CLIENTS.lock().unwrap_or_else(|e| e.into_inner());
    clients
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, c)| c.clone())
}

pub fn put(key: u64, client: reqwest::Client) {
    let mut clients = CLIENTS.lock().unwrap_or_else(|e| e.into_inner());
    if !clients.iter().any(|(k, _)| *k == key) {
        clients.push((key, client));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{IdentityFile, Secret};

    #[test]
    fn the_same_settings_share_and_others_do_not() {
        let timeout = Duration::from_secs(90);
        let plain = TlsOptions::default();
        assert_eq!(key(&plain, timeout), key(&plain.clone(), timeout));
        assert_ne!(key(&plain, timeout), key(&plain, Duration::from_secs(30)));
        let insecure = TlsOptions {
            insecure: true,
            ..TlsOptions::default()
        };
        assert_ne!(key(&plain, timeout), key(&insecure, timeout));
        let with = |password: &str| TlsOptions {
            identity: Some(IdentitySource::File(IdentityFile {
                cert: "admin.pfx".into(),
                key: None,
                password: Some(Secret::new(password)),
            })),
            ..TlsOptions::default()
        };
        // A wrong password must not borrow the client a right one opened.
        assert_ne!(key(&with("right"), timeout), key(&with("wrong"), timeout));
        assert_eq!(key(&with("right"), timeout), key(&with("right"), timeout));
    }
}
