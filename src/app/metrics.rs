//! `watch --metrics ADDR`: serves `GET /metrics` over HTTP/1 for Prometheus.
//!
//! Owns the listener and its limits. The figures are not kept here: each scrape asks the
//! watch loop (which owns the model) for the text through a channel, and the loop answers
//! between two batches, so a scrape always sees a consistent model and never slows its
//! reading (see `app::watch`). Connections are tasks on the app's runtime (hyper 1's
//! HTTP/1 server), at most [`MAX_CONNECTIONS`] at once (more are closed at once), each
//! with a capped read buffer and [`CONNECTION_TIMEOUT`] to live, so memory stays bounded
//! whoever connects. Only `GET`/`HEAD /metrics` answer 200; anything else gets 404 or 405.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, Semaphore};

use crate::view::metrics::CONTENT_TYPE;

/// Connections served at once; a monitoring stack needs one or two.
pub(crate) const MAX_CONNECTIONS: usize = 16;
/// A connection is closed after this long, whatever it is doing.
pub(crate) const CONNECTION_TIMEOUT: Duration = Duration::from_secs(30);
/// The most a request's head may take (bytes buffered per connection).
const MAX_REQUEST_BYTES: usize = 16 * 1024;

/// A scrape waiting for the loop's answer.
pub(crate) type Scrape = oneshot::Sender<String>;

/// Binds `addr` (so a taken port is an error at start, not later) and serves scrapes in
/// the background; scrapes arrive on the returned receiver.
pub(crate) async fn serve(
    addr: SocketAddr,
) -> anyhow::Result<(SocketAddr, mpsc::Receiver<Scrape>)> {
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("--metrics: listening on {addr}"))?;
    let bound = listener
        .local_addr()
        .context("--metrics: the bound address")?;
    let (tx, rx) = mpsc::channel::<Scrape>(MAX_CONNECTIONS);
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    tokio::spawn(async move {
        loop {
            let Ok((stream, _peer)) = listener.accept().await else {
                // Out of file descriptors or similar: wait, then go on.
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            };
            if tx.is_closed() {
                return; // the loop is gone
            }
            let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
                drop(stream); // too many at once
                continue;
            };
            let tx = tx.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| answer(req, tx.clone()));
                let conn = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(Duration::from_secs(10))
                    .max_buf_size(MAX_REQUEST_BYTES)
                    .keep_alive(true)
                    .serve_connection(TokioIo::new(stream), service);
                let _ = tokio::time::timeout(CONNECTION_TIMEOUT, conn).await;
                drop(permit);
            });
        }
    });
    Ok((bound, rx))
}

async fn answer(
    req: Request<Incoming>,
    loop_tx: mpsc::Sender<Scrape>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let plain = |status: StatusCode, text: &'static str| {
        let mut r = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
        *r.status_mut() = status;
        r
    };
    if req.uri().path() != "/metrics" {
        return Ok(plain(StatusCode::NOT_FOUND, "not found: try /metrics\n"));
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return Ok(plain(StatusCode::METHOD_NOT_ALLOWED, "GET /metrics\n"));
    }
    let (reply, text) = oneshot::channel();
    if loop_tx.send(reply).await.is_err() {
        return Ok(plain(StatusCode::SERVICE_UNAVAILABLE, "stopping\n"));
    }
    let Ok(text) = text.await else {
        return Ok(plain(StatusCode::SERVICE_UNAVAILABLE, "stopping\n"));
    };
    let body = if req.method() == Method::HEAD {
        Bytes::new()
    } else {
        Bytes::from(text)
    };
    let mut r = Response::new(Full::new(body));
    if let Ok(v) = hyper::header::HeaderValue::from_str(CONTENT_TYPE) {
        r.headers_mut().insert(hyper::header::CONTENT_TYPE, v);
    }
    Ok(r)
}
