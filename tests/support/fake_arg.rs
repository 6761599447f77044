//! An in-process fake of the Azure Resource Graph endpoint (api-version 2024-04-01) on
//! 127.0.0.1, for tests and the benchmark. It serves rows already in a dataset's contract
//! shape (it does not run KQL: the dataset is read from the query's `// dataset:` header) and
//! reproduces the service's wire behaviour: `$top`/`$skipToken` paging with `totalRecords`,
//! `count` and `resultTruncated` as a string, the per-user quota headers and 429
//! `RateLimiting` with `Retry-After`, 500 bursts, the real 400 `InvalidQuery` body,
//! truncated results, malformed JSON, bodies cut mid-stream, slow responses, expired tokens
//! and the tenant subscription limit header. Every request is logged for assertions.
#![allow(dead_code)]

use axum::Router;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A fault the fake injects instead of (or around) a normal page.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// 429 RateLimiting with this `Retry-After` (seconds) and quota headers.
    Throttle { retry_after_secs: u64 },
    /// An HTTP 5xx with an ARM error body.
    Status(u16),
    /// 400 with the real `InvalidQuery` / `ParserFailure` body.
    InvalidQuery,
    /// 200 with `resultTruncated: "true"` and no `$skipToken`.
    Truncated,
    /// 200 with a body that is not JSON.
    Malformed,
    /// Answer normally after this delay (longer than the client timeout to test it).
    Slow(Duration),
    /// 200 whose body stream breaks off (connection reset mid-response).
    CutBody,
    /// 401 ExpiredAuthenticationToken; the token stays expired for the rest of the run.
    ExpiredToken,
    /// 200 with `x-ms-tenant-subscription-limit-hit: true`.
    SubscriptionLimit,
}

#[derive(Debug, Clone)]
struct Scripted {
    dataset: Option<String>,
    page: Option<usize>,
    fault: Fault,
    times: usize,
}

/// One request as the fake saw it.
#[derive(Debug, Clone)]
pub struct Logged {
    /// Arrival, since the fake started.
    pub at: Duration,
    pub dataset: String,
    pub page: usize,
    pub skip_token: Option<String>,
    pub token: String,
    /// 0 for a slow request logged on arrival (its client may give up before the answer).
    pub status: u16,
    /// A complete, parsable page was sent.
    pub served_page: bool,
    pub body: Value,
}

/// Quota: `limit` requests per fixed `window` that starts with the first request after the
/// previous window ended. Headers round the time left up to whole seconds, as `hh:mm:ss`.
#[derive(Debug, Clone, Copy)]
pub struct QuotaConfig {
    pub limit: u32,
    pub window: Duration,
}

#[derive(Default)]
struct Inner {
    datasets: HashMap<String, Vec<Value>>,
    faults: Vec<Scripted>,
    log: Vec<Logged>,
    window: Option<(Instant, u32)>,
    expired_tokens: HashSet<String>,
}

struct Shared {
    inner: Mutex<Inner>,
    quota: Option<QuotaConfig>,
    latency: Duration,
    started: Instant,
}

/// The running fake. Dropping it stops the server.
pub struct FakeArg {
    pub url: String,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

pub struct FakeBuilder {
    quota: Option<QuotaConfig>,
    latency: Duration,
    datasets: HashMap<String, Vec<Value>>,
}

impl FakeArg {
    pub fn builder() -> FakeBuilder {
        FakeBuilder {
            quota: None,
            latency: Duration::ZERO,
            datasets: HashMap::new(),
        }
    }

    /// Inject `fault` for the next `times` requests matching dataset and page (None: any).
    pub fn fault(&self, dataset: Option<&str>, page: Option<usize>, fault: Fault, times: usize) {
        self.shared.inner.lock().unwrap().faults.push(Scripted {
            dataset: dataset.map(String::from),
            page,
            fault,
            times,
        });
    }

    pub fn log(&self) -> Vec<Logged> {
        self.shared.inner.lock().unwrap().log.clone()
    }

    pub fn set_rows(&self, dataset: &str, rows: Vec<Value>) {
        self.shared
            .inner
            .lock()
            .unwrap()
            .datasets
            .insert(dataset.to_string(), rows);
    }

    /// (dataset, page) pairs answered 200 with a parsable page more than once.
    pub fn pages_served_twice(&self) -> Vec<(String, usize, Option<String>)> {
        let mut seen = HashMap::new();
        for l in self.log().iter().filter(|l| l.served_page) {
            *seen
                .entry((
                    l.dataset.clone(),
                    l.page,
                    l.skip_token.clone(),
                    scope_key(&l.body),
                ))
                .or_insert(0) += 1;
        }
        seen.into_iter()
            .filter(|(_, n)| *n > 1)
            .map(|((d, p, t, _), _)| (d, p, t))
            .collect()
    }
}

fn scope_key(body: &Value) -> String {
    format!("{}{}", body["subscriptions"], body["managementGroups"])
}

impl Drop for FakeArg {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl FakeBuilder {
    pub fn quota(mut self, limit: u32, window: Duration) -> Self {
        self.quota = Some(QuotaConfig { limit, window });
        self
    }
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }
    pub fn dataset(mut self, name: &str, rows: Vec<Value>) -> Self {
        self.datasets.insert(name.to_string(), rows);
        self
    }
    pub fn start(self) -> FakeArg {
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner {
                datasets: self.datasets,
                ..Inner::default()
            }),
            quota: self.quota,
            latency: self.latency,
            started: Instant::now(),
        });
        let (url_tx, url_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let state = shared.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let addr = listener.local_addr().unwrap();
                url_tx.send(format!("http://{addr}")).unwrap();
                let app = Router::new()
                    .route("/providers/Microsoft.ResourceGraph/resources", post(handle))
                    .with_state(state);
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stop_rx.await;
                    })
                    .await
                    .unwrap();
            });
        });
        FakeArg {
            url: url_rx.recv().unwrap(),
            shared,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }
}

fn arm_error(status: StatusCode, code: &str, message: &str, details: Value) -> Response {
    let body = json!({"error": {"code": code, "message": message, "details": details}});
    (
        status,
        [("content-type", "application/json; charset=utf-8")],
        body.to_string(),
    )
        .into_response()
}

fn support_message() -> String {
    "Please provide below info when asking for support: timestamp = 2026-09-06T00:05:41.1380553Z, \
     correlationId = 8e4201ec-a5ea-4b6a-be58-75c610acbbe8."
        .to_string()
}

/// `hh:mm:ss`, rounded up to whole seconds.
fn timespan_ceil(d: Duration) -> String {
    let s = (d.as_millis() as u64).div_ceil(1000);
    format!("{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}

fn encode_token(dataset: &str, offset: usize) -> String {
    // Opaque to the client, like the real base64 continuation.
    hex_encode(format!("{{\"ds\":\"{dataset}\",\"skip\":{offset}}}").as_bytes())
}

fn decode_token(t: &str) -> Option<(String, usize)> {
    let bytes = (0..t.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(t.get(i..i + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    Some((v["ds"].as_str()?.to_string(), v["skip"].as_u64()? as usize))
}

fn hex_encode(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

async fn handle(
    State(s): State<Arc<Shared>>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let arrived = Instant::now();
    let at = arrived - s.started;
    let req: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let query = req["query"].as_str().unwrap_or_default().to_string();
    let dataset = query
        .lines()
        .next()
        .and_then(|l| l.trim().strip_prefix("// dataset:"))
        .map(|d| d.trim().to_string())
        .unwrap_or_default();
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_string();
    let top = req["options"]["$top"]
        .as_u64()
        .unwrap_or(100)
        .clamp(1, 1000) as usize;
    let skip_token = req["options"]["$skipToken"].as_str().map(String::from);
    let offset = match &skip_token {
        None => Some(0),
        Some(t) => decode_token(t)
            .filter(|(d, _)| *d == dataset)
            .map(|(_, o)| o),
    };
    let page = offset.map(|o| o / top + 1).unwrap_or(0);

    let log = |status: u16, served_page: bool| {
        s.inner.lock().unwrap().log.push(Logged {
            at,
            dataset: dataset.clone(),
            page,
            skip_token: skip_token.clone(),
            token: token.clone(),
            status,
            served_page,
            body: req.clone(),
        });
    };
    let respond = |status: u16, resp: Response| {
        log(status, false);
        resp
    };

    if params.get("api-version").map(String::as_str) != Some("2024-04-01") {
        return respond(
            400,
            arm_error(
                StatusCode::BAD_REQUEST,
                "InvalidApiVersionParameter",
                "The api-version is invalid.",
                json!([]),
            ),
        );
    }
    if token.is_empty() {
        return respond(
            401,
            arm_error(
                StatusCode::UNAUTHORIZED,
                "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header is missing.",
                json!([]),
            ),
        );
    }
    if s.inner.lock().unwrap().expired_tokens.contains(&token) {
        return respond(401, expired_token_response());
    }
    if req["options"]["resultFormat"] != "objectArray" {
        return respond(
            400,
            arm_error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "expected objectArray",
                json!([]),
            ),
        );
    }

    if !s.latency.is_zero() {
        tokio::time::sleep(s.latency).await;
    }

    // Quota: a fixed window from the first admitted request.
    let mut quota_headers: Vec<(&'static str, String)> = Vec::new();
    if let Some(q) = s.quota {
        let now = Instant::now();
        let mut inner = s.inner.lock().unwrap();
        let (start, used) = match inner.window {
            Some((start, used)) if now < start + q.window => (start, used),
            _ => (now, 0),
        };
        let left = (start + q.window).saturating_duration_since(now);
        if used >= q.limit {
            inner.window = Some((start, used));
            drop(inner);
            let mut resp =
                throttle_response(left.as_secs().max(1) + u64::from(left.subsec_nanos() > 0));
            let h = resp.headers_mut();
            h.insert("x-ms-user-quota-remaining", HeaderValue::from_static("0"));
            h.insert(
                "x-ms-user-quota-resets-after",
                HeaderValue::from_str(&timespan_ceil(left)).unwrap(),
            );
            return respond(429, resp);
        }
        inner.window = Some((start, used + 1));
        quota_headers.push((
            "x-ms-user-quota-remaining",
            (q.limit - used - 1).to_string(),
        ));
        quota_headers.push(("x-ms-user-quota-resets-after", timespan_ceil(left)));
    } else {
        quota_headers.push(("x-ms-user-quota-remaining", "14".into()));
        quota_headers.push(("x-ms-user-quota-resets-after", "00:00:05".into()));
    }

    let fault = {
        let mut inner = s.inner.lock().unwrap();
        let hit = inner.faults.iter_mut().find(|f| {
            f.times > 0
                && f.dataset.as_deref().is_none_or(|d| d == dataset)
                && f.page.is_none_or(|p| p == page)
        });
        hit.map(|f| {
            f.times -= 1;
            f.fault.clone()
        })
    };
    let with_quota = |mut resp: Response| {
        for (k, v) in &quota_headers {
            resp.headers_mut()
                .insert(*k, HeaderValue::from_str(v).unwrap());
        }
        resp
    };
    let mut subscription_limit = false;
    let truncated = matches!(fault, Some(Fault::Truncated));
    match fault {
        Some(Fault::Throttle { retry_after_secs }) => {
            let mut resp = throttle_response(retry_after_secs);
            let h = resp.headers_mut();
            h.insert("x-ms-user-quota-remaining", HeaderValue::from_static("0"));
            h.insert(
                "x-ms-user-quota-resets-after",
                HeaderValue::from_static("00:00:01"),
            );
            return respond(429, resp);
        }
        Some(Fault::Status(code)) => {
            let status = StatusCode::from_u16(code).unwrap();
            return respond(
                code,
                with_quota(arm_error(
                    status,
                    "InternalServerError",
                    "An unexpected query execution error occurred. Please try again later.",
                    json!([]),
                )),
            );
        }
        Some(Fault::InvalidQuery) => {
            return respond(
                400,
                with_quota(arm_error(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    &support_message(),
                    json!([
                        { "code": "InvalidQuery", "message": "Query is invalid. Please refer to the documentation for the Azure Resource Graph service and fix the error before retrying." },
                        { "code": "ParserFailure", "message": "ParserFailure", "expectedToken": "'" },
                        { "code": "ParserFailure", "message": "ParserFailure", "line": 1, "characterPositionInLine": 42, "token": "' and type contains '" }
                    ]),
                )),
            );
        }
        Some(Fault::ExpiredToken) => {
            s.inner.lock().unwrap().expired_tokens.insert(token.clone());
            return respond(401, expired_token_response());
        }
        Some(Fault::Malformed) => {
            return respond(
                200,
                with_quota(
                    (
                        StatusCode::OK,
                        [("content-type", "application/json; charset=utf-8")],
                        "{\"totalRecords\": 3, \"count\": 3, \"data\": [{\"id\": \"/subscriptions/",
                    )
                        .into_response(),
                ),
            );
        }
        Some(Fault::CutBody) => {
            let chunks: Vec<Result<&'static str, std::io::Error>> = vec![
                Ok("{\"totalRecords\": 3, \"count\": 3, \"data\": ["),
                Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "reset",
                )),
            ];
            let mut resp = Response::new(Body::from_stream(futures::stream::iter(chunks)));
            resp.headers_mut()
                .insert("content-type", HeaderValue::from_static("application/json"));
            return respond(200, with_quota(resp));
        }
        Some(Fault::Slow(d)) => {
            log(0, false);
            tokio::time::sleep(d).await
        }
        Some(Fault::SubscriptionLimit) => subscription_limit = true,
        Some(Fault::Truncated) | None => {}
    }

    let Some(offset) = offset else {
        return respond(
            400,
            with_quota(arm_error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "The $skipToken is invalid.",
                json!([]),
            )),
        );
    };
    // Scope: rows of the requested subscriptions only, when a list is sent.
    let subs: Option<HashSet<String>> = req["subscriptions"].as_array().map(|a| {
        a.iter()
            .filter_map(|v| v.as_str().map(str::to_ascii_lowercase))
            .collect()
    });
    let (total, data, end) = {
        let inner = s.inner.lock().unwrap();
        let Some(all) = inner.datasets.get(&dataset) else {
            drop(inner);
            return respond(
                400,
                with_quota(arm_error(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    &support_message(),
                    json!([{ "code": "InvalidQuery", "message": format!("unknown dataset '{dataset}'") }]),
                )),
            );
        };
        let in_scope = |r: &&Value| {
            subs.as_ref().is_none_or(|subs| {
                r["subscriptionId"]
                    .as_str()
                    .is_some_and(|s| subs.contains(&s.to_ascii_lowercase()))
            })
        };
        let total = if subs.is_none() {
            all.len()
        } else {
            all.iter().filter(in_scope).count()
        };
        let data: Vec<Value> = all
            .iter()
            .filter(in_scope)
            .skip(offset)
            .take(top)
            .cloned()
            .collect();
        let end = (offset + data.len()).min(total);
        (total, data, end)
    };
    let mut page_body = serde_json::Map::new();
    page_body.insert("totalRecords".into(), json!(total));
    page_body.insert("count".into(), json!(data.len()));
    page_body.insert("data".into(), Value::Array(data));
    page_body.insert("facets".into(), json!([]));
    if truncated {
        page_body.insert("resultTruncated".into(), json!("true"));
    } else {
        page_body.insert("resultTruncated".into(), json!("false"));
        if end < total {
            page_body.insert("$skipToken".into(), json!(encode_token(&dataset, end)));
        }
    }
    let mut resp = with_quota(
        (
            StatusCode::OK,
            [("content-type", "application/json; charset=utf-8")],
            Value::Object(page_body).to_string(),
        )
            .into_response(),
    );
    if subscription_limit {
        resp.headers_mut().insert(
            "x-ms-tenant-subscription-limit-hit",
            HeaderValue::from_static("true"),
        );
    }
    log(200, true);
    resp
}

fn throttle_response(retry_after_secs: u64) -> Response {
    let mut resp = arm_error(
        StatusCode::TOO_MANY_REQUESTS,
        "RateLimiting",
        &support_message(),
        json!([{ "code": "RateLimiting", "message": "Client application has been throttled and should not attempt to repeat the request until an amount of time has elapsed. Please see https://aka.ms/resourcegraph-throttling for help." }]),
    );
    resp.headers_mut().insert(
        "retry-after",
        HeaderValue::from_str(&retry_after_secs.to_string()).unwrap(),
    );
    resp
}

fn expired_token_response() -> Response {
    let mut resp = arm_error(
        StatusCode::UNAUTHORIZED,
        "ExpiredAuthenticationToken",
        "The access token expiry UTC time '9/6/2026 12:04:55 AM' is earlier than current UTC time '9/6/2026 12:05:41 AM'.",
        json!([]),
    );
    resp.headers_mut().insert(
        "www-authenticate",
        HeaderValue::from_static(
            "Bearer authorization_uri=\"https://login.microsoftonline.com/common\", error=\"invalid_token\", error_description=\"The access token has expired.\"",
        ),
    );
    resp
}

/// `n` rows valid for `contract`, spread over `subscriptions` subscriptions, sorted by id.
pub fn rows_for(
    contract: &defender_ledger::model::Contract,
    n: usize,
    subscriptions: usize,
) -> Vec<Value> {
    use defender_ledger::model::Kind;
    (0..n)
        .map(|i| {
            let sub = format!("00000000-0000-0000-0000-{:012}", i % subscriptions.max(1));
            let mut row = serde_json::Map::new();
            for (name, kind) in contract.columns {
                let v = match (*name, kind) {
                    ("subscriptionId", _) => json!(sub),
                    ("id", _) => json!(format!(
                        "/subscriptions/{sub}/resourceGroups/rg/providers/Microsoft.Fake/items/{}-{i:08}",
                        contract.dataset
                    )),
                    (_, Kind::Key) => json!(format!("{name}-{i:08}")),
                    (_, Kind::Str) => json!(format!("{name}-{}", i % 7)),
                    (_, Kind::Bool) => json!(i % 2 == 0),
                    (_, Kind::Int) => json!(i % 64),
                    (_, Kind::Float) => json!((i % 100) as f64 / 10.0),
                    (_, Kind::Time) => json!("2026-09-05T22:14:07.3180000Z"),
                    (_, Kind::Array(keys)) => {
                        let item: serde_json::Map<String, Value> =
                            keys.iter().map(|k| (k.to_string(), json!("True"))).collect();
                        json!([item])
                    }
                    (_, Kind::Object) => json!({"owner": "team-a"}),
                };
                row.insert(name.to_string(), v);
            }
            Value::Object(row)
        })
        .collect()
}
