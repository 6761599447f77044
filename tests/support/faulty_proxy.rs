//! A proxy in front of Azurite that answers every `every`-th request with 503 Server Busy
//! instead of forwarding it, to prove the store retries.

#![allow(dead_code)]

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct Proxy {
    /// `http://127.0.0.1:<port>`: replaces the emulator's scheme, host and port.
    pub base: String,
    injected: Arc<AtomicUsize>,
}

impl Proxy {
    pub fn injected(&self) -> usize {
        self.injected.load(Ordering::Relaxed)
    }
}

#[derive(Clone)]
struct Ctx {
    upstream: String,
    every: usize,
    seen: Arc<AtomicUsize>,
    injected: Arc<AtomicUsize>,
    client: reqwest::Client,
}

async fn forward(State(ctx): State<Ctx>, req: Request) -> Response {
    let n = ctx.seen.fetch_add(1, Ordering::Relaxed) + 1;
    if n % ctx.every == 0 {
        ctx.injected.fetch_add(1, Ordering::Relaxed);
        return Response::builder()
            .status(503)
            .body(Body::from(
                "<?xml version=\"1.0\"?><Error><Code>ServerBusy</Code></Error>",
            ))
            .unwrap();
    }
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    let url = format!(
        "{}{}",
        ctx.upstream,
        parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/")
    );
    let mut out = ctx.client.request(parts.method.clone(), url);
    for (k, v) in &parts.headers {
        if k != http::header::HOST && k != http::header::CONTENT_LENGTH {
            out = out.header(k, v);
        }
    }
    let resp = out.body(body).send().await.unwrap();
    let mut builder = Response::builder().status(resp.status());
    for (k, v) in resp.headers() {
        if k != http::header::TRANSFER_ENCODING && k != http::header::CONNECTION {
            builder = builder.header(k, v);
        }
    }
    builder
        .body(Body::from(resp.bytes().await.unwrap()))
        .unwrap()
}

/// Start a proxy to the emulator at `endpoint` (`http://127.0.0.1:<port>/devstoreaccount1`).
pub fn start(endpoint: &str, every: usize) -> Proxy {
    let url = url::Url::parse(endpoint).unwrap();
    let upstream = format!("http://127.0.0.1:{}", url.port().unwrap());
    let injected = Arc::new(AtomicUsize::new(0));
    let ctx = Ctx {
        upstream,
        every,
        seen: Arc::new(AtomicUsize::new(0)),
        injected: injected.clone(),
        client: reqwest::Client::new(),
    };
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let app = axum::Router::new().fallback(forward).with_state(ctx);
            axum::serve(listener, app).await.unwrap();
        });
    });
    Proxy {
        base: format!("http://127.0.0.1:{port}"),
        injected,
    }
}
