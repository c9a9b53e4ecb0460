//! A scripted HTTP/1.1 server for what wiremock cannot do: reset a connection, stall, cut a
//! body short. Each request takes the next action of the script (the last one repeats); every
//! answer closes its connection so that requests and connections match one to one.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Clone)]
pub enum Action {
    /// Answer with this status, extra headers and body.
    Respond(u16, Vec<(String, String)>, String),
    /// Read the request, then reset the connection.
    Reset,
    /// Read the request, then send nothing for this long.
    Stall(Duration),
    /// Send headers announcing `len` bytes, then only `body`, then close.
    Truncate(usize, String),
}

pub fn json(status: u16, body: serde_json::Value) -> Action {
    Action::Respond(
        status,
        vec![("Content-Type".into(), "application/json".into())],
        body.to_string(),
    )
}

/// One request as received: the request line, the headers (lower-case names) and the body.
#[derive(Debug, Clone)]
pub struct Seen {
    pub line: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A path prefix with its script and how far the script has got.
type Route = (String, Mutex<(usize, Vec<Action>)>);

pub struct RawServer {
    pub uri: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl RawServer {
    /// Serves `script` for requests to any path.
    pub async fn start(script: Vec<Action>) -> Self {
        Self::routes(vec![("", script)]).await
    }

    /// Serves a script per path prefix (the longest matching prefix wins).
    pub async fn routes(routes: Vec<(&str, Vec<Action>)>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let uri = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let routes: Arc<Vec<Route>> = Arc::new(
            routes
                .into_iter()
                .map(|(p, s)| (p.to_string(), Mutex::new((0, s))))
                .collect(),
        );
        let log = seen.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (routes, log) = (routes.clone(), log.clone());
                tokio::spawn(async move {
                    let _ = serve(stream, &routes, &log).await;
                });
            }
        });
        Self { uri, seen }
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

async fn serve(
    mut stream: TcpStream,
    routes: &[Route],
    log: &Mutex<Vec<Seen>>,
) -> std::io::Result<()> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(i) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let line = lines.next().unwrap_or_default().to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    while buffer.len() < head_end + length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8_lossy(&buffer[head_end..]).to_string();
    let path = line.split(' ').nth(1).unwrap_or_default().to_string();
    log.lock().unwrap().push(Seen {
        line,
        headers,
        body,
    });
    let action = {
        let route = routes
            .iter()
            .filter(|(p, _)| path.starts_with(p.as_str()))
            .max_by_key(|(p, _)| p.len());
        let Some((_, script)) = route else {
            return Ok(());
        };
        let mut script = script.lock().unwrap();
        let i = script.0.min(script.1.len() - 1);
        script.0 += 1;
        script.1[i].clone()
    };
    match action {
        Action::Respond(status, headers, body) => {
            let mut text = format!(
                "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            for (n, v) in headers {
                text.push_str(&format!("{n}: {v}\r\n"));
            }
            text.push_str("\r\n");
            text.push_str(&body);
            stream.write_all(text.as_bytes()).await?;
            stream.shutdown().await?;
        }
        Action::Reset => {
            // A zero linger time makes the close a reset (RST) instead of an orderly FIN.
            socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO))?;
            drop(stream);
        }
        Action::Stall(time) => {
            tokio::time::sleep(time).await;
        }
        Action::Truncate(len, body) => {
            let text = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {len}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{body}"
            );
            stream.write_all(text.as_bytes()).await?;
            stream.shutdown().await?;
        }
    }
    Ok(())
}
