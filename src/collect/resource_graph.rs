//! Live collection from Azure Resource Graph (REST api-version 2024-04-01).
//!
//! One query per dataset (`queries/*.kql`, header `// dataset: <name>`), sent as
//! `POST {arm}/providers/Microsoft.ResourceGraph/resources` with `resultFormat: objectArray`
//! and `$top: 1000`, followed page by page with `$skipToken` (same query, same scope). Scope:
//! management groups, or a subscription list sent in chunks of [`SUBSCRIPTION_CHUNK`], or the
//! whole tenant. Every page is validated against the dataset contract as it arrives (the same
//! `rows_to_frame` as replay), and an incomplete population is an error, never a short result:
//! `resultTruncated: "true"`, a missing page, fewer rows than `totalRecords`, or the tenant
//! subscription limit.
//!
//! Faults: requests are paced by the quota headers (see `throttle`); a 429 waits `Retry-After`;
//! 5xx, 408, connection resets, timeouts and unreadable bodies are retried with exponential
//! backoff and jitter up to `azure.max_attempts`; a 401 for an expired token fetches a new
//! token. A final failure names the query, the scope and the page, and is a source error
//! (exit code 4). A successful page is never requested again.

use super::auth::{TokenSource, arm_scope, build_credential};
use super::progress::QueryProgress;
use super::throttle::{Quota, Throttle, retry_after};
use super::{Collected, PageChain, Source, StagedRows};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::model::page::{Page, parse_page};
use crate::model::{Contract, DATASETS};
use azure_core::credentials::TokenCredential;
use chrono::NaiveDate;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use url::Url;

pub const API_VERSION: &str = "2024-04-01";
/// Rows per page: the REST maximum.
pub const PAGE_SIZE: u32 = 1000;
/// Subscriptions per request when the scope is a subscription list.
pub const SUBSCRIPTION_CHUNK: usize = 1000;
/// 429s tolerated for one page before giving up.
pub const MAX_THROTTLED: u32 = 30;
/// 401s (expired or rejected token) tolerated for one page, each followed by a new token.
pub const MAX_TOKEN_REFRESHES: u32 = 2;

/// The queries shipped with the tool, used when no `queries/` folder is found.
const EMBEDDED: &[(&str, &str)] = &[
    (
        "queries/subscriptions.kql",
        include_str!("../../queries/subscriptions.kql"),
    ),
    (
        "queries/defender_plans.kql",
        include_str!("../../queries/defender_plans.kql"),
    ),
    (
        "queries/aks_clusters.kql",
        include_str!("../../queries/aks_clusters.kql"),
    ),
    (
        "queries/container_registries.kql",
        include_str!("../../queries/container_registries.kql"),
    ),
    (
        "queries/arc_clusters.kql",
        include_str!("../../queries/arc_clusters.kql"),
    ),
    (
        "queries/container_instances.kql",
        include_str!("../../queries/container_instances.kql"),
    ),
    (
        "queries/security_alerts.kql",
        include_str!("../../queries/security_alerts.kql"),
    ),
    (
        "queries/vulnerabilities.kql",
        include_str!("../../queries/vulnerabilities.kql"),
    ),
    (
        "queries/scan_status.kql",
        include_str!("../../queries/scan_status.kql"),
    ),
    (
        "queries/policy_states.kql",
        include_str!("../../queries/policy_states.kql"),
    ),
];
/// The sub-assessment query for `vulnerabilities`, for history from before 2026-07-31.
pub const LEGACY_VULNERABILITIES: (&str, &str) = (
    "queries/legacy/vulnerabilities.kql",
    include_str!("../../queries/legacy/vulnerabilities.kql"),
);

/// One query: its dataset, where it came from, its text and the SHA-256 of that text (the
/// evidence pack records it).
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub dataset: String,
    pub path: String,
    pub text: String,
    pub sha256: String,
}

impl Query {
    /// Parse a query file: the first line must be `// dataset: <name>` naming a contract.
    pub fn parse(path: &str, text: &str) -> Result<Query> {
        let first = text.lines().next().unwrap_or_default().trim();
        let dataset = first
            .strip_prefix("//")
            .map(str::trim)
            .and_then(|l| l.strip_prefix("dataset:"))
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .ok_or_else(|| {
                Error::config(format!(
                    "{path}: the first line must be \"// dataset: <name>\", found \"{first}\""
                ))
            })?;
        if crate::model::contract(dataset).is_none() {
            let known: Vec<_> = DATASETS.iter().map(|c| c.dataset).collect();
            return Err(Error::config(format!(
                "{path}: unknown dataset '{dataset}' (one of {})",
                known.join(", ")
            )));
        }
        Ok(Query {
            dataset: dataset.to_string(),
            path: path.to_string(),
            text: text.to_string(),
            sha256: hex::encode(Sha256::digest(text.as_bytes())),
        })
    }
}

/// The query of every dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct QuerySet {
    queries: Vec<Query>,
}

impl QuerySet {
    /// The queries compiled into the binary.
    pub fn embedded() -> QuerySet {
        let queries = EMBEDDED
            .iter()
            .map(|(p, t)| Query::parse(p, t).expect("embedded queries are valid"))
            .collect();
        QuerySet { queries }
    }

    /// Every `*.kql` directly in `dir` (not `legacy/`); each dataset exactly once.
    pub fn load_dir(dir: &Path) -> Result<QuerySet> {
        let entries = std::fs::read_dir(dir)
            .map_err(|e| Error::config(format!("queries folder {}: {e}", dir.display())))?;
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "kql"))
            .collect();
        paths.sort();
        let mut set = QuerySet { queries: vec![] };
        for p in paths {
            let text = std::fs::read_to_string(&p)
                .map_err(|e| Error::config(format!("{}: {e}", p.display())))?;
            let q = Query::parse(&p.display().to_string(), &text)?;
            if let Some(other) = set.get(&q.dataset) {
                return Err(Error::config(format!(
                    "{} and {} are both queries for dataset {}",
                    other.path, q.path, q.dataset
                )));
            }
            set.queries.push(q);
        }
        set.add_built_in_for_later_datasets(dir);
        set.check_complete(&dir.display().to_string())?;
        Ok(set)
    }

    /// A queries folder kept from before a dataset existed has no query for it: use the one
    /// built into the binary (its hash is recorded like any other), and say so.
    fn add_built_in_for_later_datasets(&mut self, dir: &Path) {
        let built_in = QuerySet::embedded();
        for ds in crate::model::ADDED_LATER {
            if self.get(ds).is_none()
                && let Some(q) = built_in.get(ds)
            {
                tracing::warn!(
                    "{} has no query for dataset {ds} (added in a later release): using the built-in {}",
                    dir.display(),
                    q.path
                );
                self.queries.push(q.clone());
            }
        }
    }

    /// `./queries` when it exists (users may edit queries), else the embedded ones.
    pub fn discover() -> Result<QuerySet> {
        let dir = Path::new("queries");
        if dir.is_dir() {
            QuerySet::load_dir(dir)
        } else {
            Ok(QuerySet::embedded())
        }
    }

    fn check_complete(&self, origin: &str) -> Result<()> {
        let missing: Vec<_> = DATASETS
            .iter()
            .filter(|c| self.get(c.dataset).is_none())
            .map(|c| c.dataset)
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(Error::config(format!(
                "{origin}: no query for dataset {}",
                missing.join(", ")
            )))
        }
    }

    pub fn get(&self, dataset: &str) -> Option<&Query> {
        self.queries.iter().find(|q| q.dataset == dataset)
    }

    /// Use `query` for its dataset (for example [`LEGACY_VULNERABILITIES`]).
    pub fn replace(&mut self, query: Query) {
        self.queries.retain(|q| q.dataset != query.dataset);
        self.queries.push(query);
    }

    pub fn iter(&self) -> impl Iterator<Item = &Query> {
        self.queries.iter()
    }
}

/// What the queries run over.
#[derive(Debug, Clone, PartialEq)]
pub enum Scope {
    /// Every subscription the identity can read (at most 10,000; more is an error).
    Tenant,
    ManagementGroups(Vec<String>),
    Subscriptions(Vec<String>),
}

impl Scope {
    pub fn from_config(config: &Config) -> Result<Scope> {
        let a = &config.azure;
        let clean = |v: &[String]| -> Vec<String> {
            let mut out: Vec<String> = Vec::new();
            for s in v.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
                if !out.iter().any(|o| o.eq_ignore_ascii_case(s)) {
                    out.push(s.to_string());
                }
            }
            out
        };
        let (mgs, subs) = (clean(&a.management_groups), clean(&a.subscriptions));
        match (mgs.is_empty(), subs.is_empty()) {
            (true, true) => Ok(Scope::Tenant),
            (false, true) => Ok(Scope::ManagementGroups(mgs)),
            (true, false) => Ok(Scope::Subscriptions(subs)),
            (false, false) => Err(Error::config(
                "azure.management_groups and azure.subscriptions are both set: choose one scope",
            )),
        }
    }

    /// The request scopes: one per chunk of subscriptions, one for management groups or the
    /// tenant.
    fn chunks(&self) -> Vec<Chunk> {
        match self {
            Scope::Tenant => vec![Chunk {
                field: None,
                label: "tenant scope".into(),
            }],
            Scope::ManagementGroups(mgs) => vec![Chunk {
                field: Some(("managementGroups", mgs.clone())),
                label: format!("management groups {}", mgs.join(",")),
            }],
            Scope::Subscriptions(subs) => {
                let n = subs.chunks(SUBSCRIPTION_CHUNK).count();
                subs.chunks(SUBSCRIPTION_CHUNK)
                    .enumerate()
                    .map(|(i, c)| Chunk {
                        field: Some(("subscriptions", c.to_vec())),
                        label: if n == 1 {
                            format!("{} subscription(s)", c.len())
                        } else {
                            let first = i * SUBSCRIPTION_CHUNK + 1;
                            format!(
                                "subscriptions {first}-{} of {} (chunk {}/{n})",
                                first + c.len() - 1,
                                subs.len(),
                                i + 1
                            )
                        },
                    })
                    .collect()
            }
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Tenant => write!(f, "tenant"),
            Scope::ManagementGroups(m) => write!(f, "management groups {}", m.join(",")),
            Scope::Subscriptions(s) => write!(f, "{} subscription(s)", s.len()),
        }
    }
}

#[derive(Debug, Clone)]
struct Chunk {
    field: Option<(&'static str, Vec<String>)>,
    label: String,
}

/// Timeouts and retry bounds.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Whole request, connect to last body byte.
    pub request_timeout: Duration,
    /// Attempts per page on 5xx, 408, resets, timeouts and unreadable bodies.
    pub max_attempts: u32,
    /// First backoff; doubles per attempt up to `backoff_max`, with jitter.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// Longest single wait a 429 may impose before the page is given up.
    pub max_throttle_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            request_timeout: Duration::from_secs(60),
            max_attempts: 6,
            backoff_base: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            max_throttle_wait: Duration::from_secs(300),
        }
    }
}

impl RetryPolicy {
    /// Backoff before attempt `failures + 1`: "equal jitter", half fixed, half random.
    fn backoff(&self, failures: u32) -> Duration {
        let exp = self
            .backoff_base
            .saturating_mul(1u32 << failures.saturating_sub(1).min(20))
            .min(self.backoff_max);
        exp / 2 + (exp / 2).mul_f64(fastrand::f64())
    }
}

/// Counters for one client, for logs and the benchmark.
#[derive(Debug, Default)]
pub struct Stats {
    pub requests: AtomicU64,
    pub pages: AtomicU64,
    pub throttled: AtomicU64,
    pub retried: AtomicU64,
    pub token_refreshes: AtomicU64,
    /// Milliseconds spent waiting for quota resets before sending.
    pub paced_ms: AtomicU64,
}

/// Builder for a [`ResourceGraph`] with explicit endpoint and credential (tests, benchmarks,
/// callers that manage identity themselves).
pub struct ResourceGraphBuilder {
    arm_endpoint: String,
    credential: Arc<dyn TokenCredential>,
    scope: Scope,
    queries: Option<QuerySet>,
    retry: RetryPolicy,
}

impl ResourceGraphBuilder {
    pub fn scope(mut self, scope: Scope) -> Self {
        self.scope = scope;
        self
    }
    pub fn queries(mut self, queries: QuerySet) -> Self {
        self.queries = Some(queries);
        self
    }
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }
    pub fn build(self) -> Result<ResourceGraph> {
        let arm = parse_arm_endpoint(&self.arm_endpoint)?;
        let http = http_client(self.retry.request_timeout)?;
        let tokens = TokenSource::new(self.credential, arm_scope(&arm), "explicit");
        let queries = match self.queries {
            Some(q) => q,
            None => QuerySet::discover()?,
        };
        ResourceGraph::assemble(arm, http, tokens, self.scope, queries, self.retry)
    }
}

fn parse_arm_endpoint(s: &str) -> Result<Url> {
    let url = Url::parse(s.trim())
        .map_err(|e| Error::config(format!("azure.arm_endpoint '{s}': {e}")))?;
    if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() {
        return Err(Error::config(format!(
            "azure.arm_endpoint '{s}' is not an http(s) URL"
        )));
    }
    Ok(url)
}

fn http_client(timeout: Duration) -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(timeout.min(Duration::from_secs(20)))
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("defender-ledger/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| Error::config(format!("HTTP client: {e}")))
}

/// The Resource Graph source. `collect` for a date ignores the date: live data is "now", and
/// the caller labels the snapshot.
pub struct ResourceGraph {
    url: Url,
    http: reqwest::Client,
    tokens: TokenSource,
    scope: Scope,
    queries: QuerySet,
    retry: RetryPolicy,
    throttle: Throttle,
    stats: Stats,
    runtime: Option<tokio::runtime::Runtime>,
}

impl fmt::Debug for ResourceGraph {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResourceGraph")
            .field("url", &self.url.as_str())
            .field("scope", &self.scope)
            .field("tokens", &self.tokens)
            .finish_non_exhaustive()
    }
}

impl Drop for ResourceGraph {
    fn drop(&mut self) {
        // Dropping a runtime inside another runtime's context would panic.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl ResourceGraph {
    /// Build from configuration and the process environment: credential `azure.credential`,
    /// `azure.arm_endpoint`, `azure.authority_host`, scope, timeout and attempts; queries from
    /// `./queries` or the embedded copy.
    pub fn from_config(config: &Config) -> Result<ResourceGraph> {
        Self::from_config_with_env(config, &|k| std::env::var(k).ok())
    }

    /// As [`ResourceGraph::from_config`] with the Azure identity variables read from `env`.
    pub fn from_config_with_env(
        config: &Config,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<ResourceGraph> {
        let a = &config.azure;
        if a.max_attempts == 0 || a.request_timeout_secs == 0 {
            return Err(Error::config(
                "azure.max_attempts and azure.request_timeout_secs must be at least 1",
            ));
        }
        let arm = parse_arm_endpoint(&a.arm_endpoint)?;
        let retry = RetryPolicy {
            request_timeout: Duration::from_secs(a.request_timeout_secs),
            max_attempts: a.max_attempts,
            ..RetryPolicy::default()
        };
        let http = http_client(retry.request_timeout)?;
        let credential = build_credential(a, env, http_client(Duration::from_secs(30))?)?;
        let tokens = TokenSource::new(credential, arm_scope(&arm), a.credential);
        let scope = Scope::from_config(config)?;
        ResourceGraph::assemble(arm, http, tokens, scope, QuerySet::discover()?, retry)
    }

    /// Explicit endpoint and credential, for a fake endpoint in tests or a token obtained
    /// elsewhere. Defaults: tenant scope, discovered queries, default retry policy.
    pub fn builder(
        arm_endpoint: &str,
        credential: Arc<dyn TokenCredential>,
    ) -> ResourceGraphBuilder {
        ResourceGraphBuilder {
            arm_endpoint: arm_endpoint.to_string(),
            credential,
            scope: Scope::Tenant,
            queries: None,
            retry: RetryPolicy::default(),
        }
    }

    fn assemble(
        arm: Url,
        http: reqwest::Client,
        tokens: TokenSource,
        scope: Scope,
        queries: QuerySet,
        retry: RetryPolicy,
    ) -> Result<ResourceGraph> {
        let mut url = arm
            .join("providers/Microsoft.ResourceGraph/resources")
            .map_err(|e| Error::config(format!("azure.arm_endpoint: {e}")))?;
        url.query_pairs_mut()
            .append_pair("api-version", API_VERSION);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::config(format!("async runtime: {e}")))?;
        Ok(ResourceGraph {
            url,
            http,
            tokens,
            scope,
            queries,
            retry,
            throttle: Throttle::new(),
            stats: Stats::default(),
            runtime: Some(runtime),
        })
    }

    pub fn queries(&self) -> &QuerySet {
        &self.queries
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The query of a dataset.
    fn query_for(&self, contract: &Contract) -> Result<&Query> {
        self.queries
            .get(contract.dataset)
            .ok_or_else(|| Error::config(format!("no query for dataset {}", contract.dataset)))
    }

    /// Run the dataset's query over the whole scope and return its validated rows.
    pub async fn collect_async(&self, contract: &Contract) -> Result<Collected> {
        let query = self.query_for(contract)?;
        let progress = QueryProgress::start(contract.dataset);
        match self.run_query(query, contract, &progress).await {
            Ok(c) => {
                progress.finish(c.height() as u64, c.total_records as u64, c.pages);
                Ok(c)
            }
            Err(e) => {
                progress.fail();
                Err(e)
            }
        }
    }

    async fn run_query(
        &self,
        query: &Query,
        contract: &Contract,
        progress: &QueryProgress,
    ) -> Result<Collected> {
        let mut staged = StagedRows::new(contract)?;
        let (mut total, mut pages, mut rows_before) = (0i64, 0usize, 0u64);
        let mut total_hint = 0u64;
        for chunk in self.scope.chunks() {
            let origin = |page: usize| {
                format!(
                    "Resource Graph query {} ({}), {}, page {page}",
                    query.dataset, query.path, chunk.label
                )
            };
            let mut chain = PageChain::new(contract);
            let mut skip_token: Option<String> = None;
            let mut page_no = 1usize;
            loop {
                let page = self
                    .fetch_page(
                        query,
                        &chunk,
                        skip_token.as_deref(),
                        &origin(page_no),
                        progress,
                        PAGE_SIZE as usize,
                    )
                    .await?;
                if page_no == 1 {
                    total_hint += page.total_records.max(0) as u64;
                }
                let next = page.skip_token.clone();
                let last = next.is_none() || page.result_truncated;
                staged.push(chain.push(&page, &origin(page_no), last)?)?;
                drop(page);
                self.stats.pages.fetch_add(1, Ordering::Relaxed);
                progress.page(page_no, rows_before + chain.rows() as u64, total_hint);
                if last {
                    break;
                }
                skip_token = next;
                page_no += 1;
            }
            pages += chain.pages();
            rows_before += chain.rows() as u64;
            total += chain.finish(&origin(page_no))?;
        }
        Ok(Collected {
            rows: staged.finish()?,
            total_records: total,
            pages,
            origin: format!("Azure Resource Graph {} ({})", query.path, self.scope),
            query_sha256: Some(query.sha256.clone()),
        })
    }

    /// Run the dataset's query for one row over the first scope chunk, validating that row
    /// against the contract: what `doctor` uses to prove the query, scope and token work.
    /// Returns the `totalRecords` Resource Graph reports.
    pub fn probe(&self, contract: &Contract) -> Result<i64> {
        let query = self.query_for(contract)?;
        let chunk = self
            .scope
            .chunks()
            .into_iter()
            .next()
            .expect("a scope has a chunk");
        let ctx = format!(
            "Resource Graph query {} ({}), {}, probe",
            query.dataset, query.path, chunk.label
        );
        let progress = QueryProgress::hidden();
        let page = self.block_on(self.fetch_page(query, &chunk, None, &ctx, &progress, 1))?;
        crate::model::rows_to_frame(contract, &page.rows, &ctx, 0)?;
        Ok(page.total_records)
    }

    /// Fetch one page, with pacing, retries and token refresh. `ctx` names query, scope and
    /// page in every error. The retry policy lives here; `attempt` sends one request and says
    /// what came of it.
    async fn fetch_page(
        &self,
        query: &Query,
        chunk: &Chunk,
        skip_token: Option<&str>,
        ctx: &str,
        progress: &QueryProgress,
        top: usize,
    ) -> Result<Page> {
        let body = self.request_body(query, chunk, skip_token, top);
        let mut tries = Tries::default();
        loop {
            self.pace().await;
            let (outcome, generation) = self.attempt(&body, ctx).await?;
            match outcome {
                Outcome::Page(page) => return Ok(page),
                Outcome::Fatal(e) => return Err(e),
                Outcome::Throttled {
                    wait,
                    hint,
                    summary,
                } => {
                    tries.throttled(self, wait, hint, &summary, ctx)?;
                    tracing::warn!(
                        query = %query.dataset,
                        page = ctx,
                        retry_after_s = hint.map(|d| d.as_secs_f64()),
                        wait_s = format!("{:.2}", wait.as_secs_f64()),
                        "throttled by Resource Graph (429), waiting"
                    );
                    progress.note(&format!("throttled, waiting {:.1}s", wait.as_secs_f64()));
                }
                Outcome::TokenRejected { summary } => {
                    tries.token_rejected(self, &summary, ctx)?;
                    tracing::info!(page = ctx, reason = %summary, "token rejected, fetching a new one");
                    self.tokens.invalidate(generation).await;
                }
                Outcome::Fault(fault) => {
                    let backoff = tries.failed(self, &fault, ctx)?;
                    tracing::warn!(
                        query = %query.dataset,
                        page = ctx,
                        attempt = tries.failures,
                        backoff_ms = backoff.as_millis() as u64,
                        fault = %fault,
                        "Resource Graph request failed, retrying"
                    );
                    let note = format!("retry {}: {}", tries.failures, truncate(&fault, 60));
                    progress.note(&note);
                    tokio::time::sleep(backoff).await;
                }
            }
        }
    }

    /// The request body of one page: the query, `$top`, `$skipToken`, and the scope chunk.
    fn request_body(
        &self,
        query: &Query,
        chunk: &Chunk,
        skip_token: Option<&str>,
        top: usize,
    ) -> Vec<u8> {
        let mut options = json!({ "$top": top, "resultFormat": "objectArray" });
        if let Some(t) = skip_token {
            options["$skipToken"] = Value::String(t.to_string());
        }
        if matches!(self.scope, Scope::ManagementGroups(_) | Scope::Tenant) {
            options["allowPartialScopes"] = Value::Bool(false);
        }
        let mut body = json!({ "query": query.text, "options": options });
        if let Some((field, values)) = &chunk.field {
            body[*field] = json!(values);
        }
        serde_json::to_vec(&body).expect("request serialises")
    }

    /// Wait until the quota allows another request.
    async fn pace(&self) {
        let wait = self.throttle.delay(Instant::now());
        if wait.is_zero() {
            return;
        }
        self.stats
            .paced_ms
            .fetch_add(wait.as_millis() as u64, Ordering::Relaxed);
        tracing::debug!(
            wait_ms = wait.as_millis() as u64,
            "pacing to the quota reset"
        );
        tokio::time::sleep(wait).await;
    }

    /// Send one request and say what came of it, with the token generation it used. Only a
    /// credential that gives no token at all is an error here.
    async fn attempt(&self, body: &[u8], ctx: &str) -> Result<(Outcome, u64)> {
        let bearer = self
            .tokens
            .bearer()
            .await
            .map_err(|e| Error::source_err(ctx, e))?;
        let sent = Instant::now();
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        let response = self
            .http
            .post(self.url.clone())
            .header(reqwest::header::AUTHORIZATION, bearer.header_value())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_vec())
            .send()
            .await;
        let rsp = match response {
            Ok(rsp) => rsp,
            Err(e) => {
                return Ok((
                    Outcome::Fault(describe_transport_error(&e)),
                    bearer.generation,
                ));
            }
        };
        let (status, headers) = (rsp.status().as_u16(), rsp.headers().clone());
        let outcome = match rsp.bytes().await {
            Err(e) => Outcome::Fault(describe_transport_error(&e)),
            Ok(bytes) => self.classify(status, &headers, &bytes, sent, ctx),
        };
        Ok((outcome, bearer.generation))
    }

    /// What a response means: a page, a throttle, a rejected token, a fault worth retrying,
    /// or a final error. A 200 also tells the throttle what the quota looks like.
    fn classify(
        &self,
        status: u16,
        headers: &reqwest::header::HeaderMap,
        bytes: &[u8],
        sent: Instant,
        ctx: &str,
    ) -> Outcome {
        let received = Instant::now();
        let quota = Quota::from_headers(headers);
        match status {
            200 => {
                self.throttle.observe(sent, received, &quota);
                if header_is_true(headers, "x-ms-tenant-subscription-limit-hit") {
                    return Outcome::Fatal(Error::source(
                        ctx,
                        "x-ms-tenant-subscription-limit-hit: the identity sees more than \
                         10,000 subscriptions and Resource Graph answered for the first \
                         10,000 only; set azure.management_groups or azure.subscriptions",
                    ));
                }
                match parse_page(bytes) {
                    Ok(page) => Outcome::Page(page),
                    Err(e) => Outcome::Fault(format!(
                        "malformed response body ({} bytes): {e}",
                        bytes.len()
                    )),
                }
            }
            429 => {
                let hint = retry_after(headers);
                Outcome::Throttled {
                    wait: self.throttle.throttled(received, hint, &quota),
                    hint,
                    summary: arm_error_summary(bytes),
                }
            }
            401 => Outcome::TokenRejected {
                summary: arm_error_summary(bytes),
            },
            408 | 500..=599 => {
                Outcome::Fault(format!("HTTP {status}: {}", arm_error_summary(bytes)))
            }
            _ => Outcome::Fatal(Error::source(
                ctx,
                format!("HTTP {status}: {}", arm_error_summary(bytes)),
            )),
        }
    }

    /// Block on `f`, also from inside another tokio runtime (on a helper thread then).
    fn block_on<F>(&self, f: F) -> F::Output
    where
        F: std::future::Future + Send,
        F::Output: Send,
    {
        let rt = self
            .runtime
            .as_ref()
            .expect("runtime lives as long as the client");
        if tokio::runtime::Handle::try_current().is_ok() {
            std::thread::scope(|s| {
                s.spawn(|| rt.block_on(f))
                    .join()
                    .expect("collection thread panicked")
            })
        } else {
            rt.block_on(f)
        }
    }
}

impl Source for ResourceGraph {
    fn describe(&self) -> String {
        format!(
            "Azure Resource Graph at {} ({}, credential {})",
            self.url.origin().ascii_serialization(),
            self.scope,
            self.tokens.label()
        )
    }

    fn days(&self) -> Result<Option<Vec<NaiveDate>>> {
        Ok(None)
    }

    fn collect(&self, contract: &Contract, _date: NaiveDate) -> Result<Option<Collected>> {
        self.block_on(self.collect_async(contract)).map(Some)
    }
}

/// What one request attempt came to.
enum Outcome {
    Page(Page),
    /// Worth retrying after a backoff (5xx, 408, a cut connection, a malformed body).
    Fault(String),
    /// HTTP 429: the throttle already knows how long to wait.
    Throttled {
        wait: Duration,
        hint: Option<Duration>,
        summary: String,
    },
    /// HTTP 401: the token was rejected; a new one may work.
    TokenRejected {
        summary: String,
    },
    /// Not worth retrying.
    Fatal(Error),
}

/// The retry policy's counters for one page: faults (bounded by `max_attempts`, with
/// exponential backoff), 429s (bounded by `MAX_THROTTLED` and the longest wait) and token
/// refreshes (bounded by `MAX_TOKEN_REFRESHES`).
#[derive(Default)]
struct Tries {
    failures: u32,
    throttled: u32,
    refreshes: u32,
}

impl Tries {
    fn throttled(
        &mut self,
        rg: &ResourceGraph,
        wait: Duration,
        _hint: Option<Duration>,
        summary: &str,
        ctx: &str,
    ) -> Result<()> {
        self.throttled += 1;
        rg.stats.throttled.fetch_add(1, Ordering::Relaxed);
        if self.throttled > MAX_THROTTLED || wait > rg.retry.max_throttle_wait {
            return Err(Error::source(
                ctx,
                format!(
                    "throttled (HTTP 429) {} times, next wait {:.1}s: {summary}",
                    self.throttled,
                    wait.as_secs_f64()
                ),
            ));
        }
        Ok(())
    }

    fn token_rejected(&mut self, rg: &ResourceGraph, summary: &str, ctx: &str) -> Result<()> {
        if self.refreshes >= MAX_TOKEN_REFRESHES {
            return Err(Error::source(
                ctx,
                format!("HTTP 401 after {} new token(s): {summary}", self.refreshes),
            ));
        }
        self.refreshes += 1;
        rg.stats.token_refreshes.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// The backoff before the next attempt, or the final error.
    fn failed(&mut self, rg: &ResourceGraph, fault: &str, ctx: &str) -> Result<Duration> {
        self.failures += 1;
        if self.failures >= rg.retry.max_attempts {
            return Err(Error::source(
                ctx,
                format!("{fault} (gave up after {} attempts)", self.failures),
            ));
        }
        rg.stats.retried.fetch_add(1, Ordering::Relaxed);
        Ok(rg.retry.backoff(self.failures))
    }
}

fn header_is_true(h: &reqwest::header::HeaderMap, name: &str) -> bool {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

fn describe_transport_error(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "response body interrupted"
    } else {
        "request failed"
    };
    let mut msg = what.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    msg
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n).collect::<String>() + "…"
    }
}

/// A one-line summary of an ARM error body (`{error:{code,message,details:[...]}}`), with
/// the parser position of `InvalidQuery` details; the raw start of the body otherwise.
pub fn arm_error_summary(body: &[u8]) -> String {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        let text = String::from_utf8_lossy(body);
        return if text.trim().is_empty() {
            "empty body".into()
        } else {
            truncate(text.trim(), 200)
        };
    };
    let Some(err) = v.get("error") else {
        return truncate(&v.to_string(), 200);
    };
    let describe = |e: &Value| -> String {
        let s = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or_default();
        let mut out = s("code").to_string();
        let msg = s("message");
        if !msg.is_empty() && msg != out {
            out.push_str(": ");
            out.push_str(msg);
        }
        let mut pos = Vec::new();
        if let Some(l) = e.get("line").and_then(Value::as_i64).filter(|l| *l >= 0) {
            pos.push(format!("line {l}"));
        }
        if let Some(c) = e
            .get("characterPositionInLine")
            .and_then(Value::as_i64)
            .filter(|c| *c >= 0)
        {
            pos.push(format!("position {c}"));
        }
        if let Some(t) = e.get("token").and_then(Value::as_str) {
            pos.push(format!("near {t:?}"));
        }
        if let Some(t) = e.get("expectedToken").and_then(Value::as_str) {
            pos.push(format!("expected {t:?}"));
        }
        if !pos.is_empty() {
            out.push_str(&format!(" ({})", pos.join(", ")));
        }
        out
    };
    let mut parts = vec![describe(err)];
    if let Some(details) = err.get("details").and_then(Value::as_array) {
        parts.extend(details.iter().map(describe));
    }
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ADDED_LATER;

    #[test]
    fn embedded_queries_cover_every_dataset_and_hash() {
        let q = QuerySet::embedded();
        for c in DATASETS {
            let query = q.get(c.dataset).unwrap();
            assert_eq!(query.sha256.len(), 64);
            assert!(query.text.contains("order by"), "{}", query.path);
        }
        let legacy = Query::parse(LEGACY_VULNERABILITIES.0, LEGACY_VULNERABILITIES.1).unwrap();
        assert_eq!(legacy.dataset, "vulnerabilities");
        assert!(Query::parse("x.kql", "resources").is_err());
        assert!(Query::parse("x.kql", "// dataset: nope\nresources").is_err());
    }

    #[test]
    fn the_repository_queries_are_the_embedded_ones() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("queries");
        let set = QuerySet::load_dir(&dir).unwrap();
        assert_eq!(set.queries.len(), DATASETS.len());
        let built_in = QuerySet::embedded();
        for q in &set.queries {
            // Read from the folder (none filled in from the binary), with the same text.
            assert!(q.path.starts_with(&dir.display().to_string()), "{}", q.path);
            assert_eq!(
                q.sha256,
                built_in.get(&q.dataset).unwrap().sha256,
                "{}",
                q.path
            );
        }
    }

    #[test]
    fn a_queries_folder_from_before_a_dataset_existed_uses_the_built_in_query() {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("queries");
        let old = tempfile::tempdir().unwrap();
        for c in DATASETS
            .iter()
            .filter(|c| !ADDED_LATER.contains(&c.dataset))
        {
            let name = format!("{}.kql", c.dataset);
            std::fs::copy(repo.join(&name), old.path().join(&name)).unwrap();
        }
        let set = QuerySet::load_dir(old.path()).unwrap();
        assert_eq!(set.queries.len(), DATASETS.len());
        for ds in ADDED_LATER {
            assert_eq!(set.get(ds).unwrap().path, format!("queries/{ds}.kql"));
        }
        // Any other missing query is still an error.
        std::fs::remove_file(old.path().join("aks_clusters.kql")).unwrap();
        let err = QuerySet::load_dir(old.path()).unwrap_err().to_string();
        assert!(err.contains("no query for dataset aks_clusters"), "{err}");
    }

    #[test]
    fn subscription_lists_are_chunked_and_scopes_exclusive() {
        let subs: Vec<String> = (0..2345).map(|i| format!("s{i}")).collect();
        let chunks = Scope::Subscriptions(subs).chunks();
        assert_eq!(chunks.len(), 3);
        assert_eq!(chunks[2].field.as_ref().unwrap().1.len(), 345);
        assert!(
            chunks[1].label.contains("1001-2000 of 2345"),
            "{}",
            chunks[1].label
        );
        let mut c = Config::default();
        assert_eq!(Scope::from_config(&c).unwrap(), Scope::Tenant);
        c.azure.subscriptions = vec!["a".into(), "A".into(), " ".into()];
        assert_eq!(
            Scope::from_config(&c).unwrap(),
            Scope::Subscriptions(vec!["a".into()])
        );
        c.azure.management_groups = vec!["mg".into()];
        assert!(Scope::from_config(&c).is_err());
    }

    #[test]
    fn invalid_query_bodies_are_summarised_with_parser_positions() {
        let body = br#"{ "error": { "code": "BadRequest",
            "message": "Please provide below info when asking for support: timestamp = 2023-12-04T16:43:28.2015623Z, correlationId = c2c2c2f0-56f3-4ea3-b485-c0aabb23889c.",
            "details": [
              { "code": "InvalidQuery", "message": "Query is invalid. Please refer to the documentation for the Azure Resource Graph service and fix the error before retrying." },
              { "code": "ParserFailure", "message": "ParserFailure", "expectedToken": "'" },
              { "code": "ParserFailure", "message": "ParserFailure", "line": 1, "characterPositionInLine": 42, "token": "' and type contains '" } ] } }"#;
        let s = arm_error_summary(body);
        assert!(s.contains("InvalidQuery: Query is invalid"), "{s}");
        assert!(s.contains("line 1, position 42"), "{s}");
        assert!(s.contains("correlationId = c2c2c2f0"), "{s}");
        assert_eq!(arm_error_summary(b""), "empty body");
    }

    #[test]
    fn backoff_grows_and_is_bounded() {
        let p = RetryPolicy {
            backoff_base: Duration::from_millis(100),
            backoff_max: Duration::from_millis(800),
            ..RetryPolicy::default()
        };
        for (n, max) in [(1, 100), (2, 200), (3, 400), (4, 800), (10, 800)] {
            let b = p.backoff(n);
            assert!(
                b >= Duration::from_millis(max / 2) && b <= Duration::from_millis(max),
                "{n}: {b:?}"
            );
        }
    }
}
