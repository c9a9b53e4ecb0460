//! The HTTP/1.1 server (hyper): accepts connections, reads each request whole and answers it
//! from the [`World`].

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use super::{Log, Now, Reply, Request, World};

/// The largest request body read; the clients send a few hundred bytes.
const MAX_BODY: usize = 1 << 20;

/// Serves until the task is aborted.
pub async fn serve(listener: TcpListener, world: Arc<Mutex<World>>, log: Option<Log>) {
    let log = Arc::new(log);
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(_) => {
                // Out of file descriptors, or a connection reset before it was accepted: the
                // listener itself is fine, so try again a moment later.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let (world, log) = (world.clone(), log.clone());
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let (world, log) = (world.clone(), log.clone());
                async move { Ok::<_, Infallible>(answer(request, &world, log.as_ref().as_ref()).await) }
            });
            // A client that goes away mid-request ends its connection, nothing else.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn answer(
    request: hyper::Request<Incoming>,
    world: &Mutex<World>,
    log: Option<&Log>,
) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let reply = match Limited::new(body, MAX_BODY).collect().await {
        Ok(body) => {
            let request = Request {
                method: parts.method.as_str().to_string(),
                path: parts.uri.path().to_string(),
                query: parts.uri.query().map(str::to_string),
                headers: parts.headers,
                body: body.to_bytes().to_vec(),
            };
            // A panic in another request poisons the lock; the world is still usable.
            let mut world = world.lock().unwrap_or_else(|e| e.into_inner());
            world.handle(&request, Now::current())
        }
        Err(_) => Reply::new(413, "text/plain", "request body too large"),
    };
    if let Some(log) = log {
        log(parts.method.as_str(), parts.uri.path(), reply.status);
    }
    let mut response = hyper::Response::builder().status(reply.status);
    for (name, value) in &reply.headers {
        response = response.header(*name, value.as_str());
    }
    response
        .body(Full::new(Bytes::from(reply.body)))
        .unwrap_or_else(|_| {
            let mut fallback = hyper::Response::new(Full::new(Bytes::new()));
            *fallback.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
            fallback
        })
}
