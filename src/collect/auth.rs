//! Identity for Resource Graph. The credential is chosen in config (`azure.credential`, env
//! `DEFENDER_LEDGER_AZURE_CREDENTIAL`) and built with the official `azure_identity` crate; its
//! token requests go through the job's own reqwest client (one HTTP and TLS stack). The
//! [`TokenSource`] caches the ARM token, refreshes it before it expires and again when ARM
//! says it has expired. Tokens and secrets never appear in `Debug` output, errors or logs.

use crate::config::AzureConfig;
use crate::error::{Error, Result};
pub use crate::store::CredentialKind;
use async_trait::async_trait;
use azure_core::cloud::{CloudConfiguration, CustomConfiguration};
use azure_core::credentials::{AccessToken, Secret, TokenCredential, TokenRequestOptions};
use azure_core::http::headers::{HeaderName, HeaderValue, Headers};
use azure_core::http::{AsyncRawResponse, Body, ClientOptions, HttpClient, Request, Transport};
use azure_core::time::OffsetDateTime;
use azure_identity::{
    AzureCliCredential, ClientAssertionCredentialOptions, ClientSecretCredential,
    ClientSecretCredentialOptions, ManagedIdentityCredential, ManagedIdentityCredentialOptions,
    UserAssignedId, WorkloadIdentityCredential, WorkloadIdentityCredentialOptions,
};
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use url::Url;

/// How long before its expiry a cached token is replaced.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

/// The OAuth scope for ARM at `arm_endpoint`: its origin plus `/.default`
/// (`https://management.azure.com/.default`, `https://management.chinacloudapi.cn/.default`,
/// `https://management.usgovcloudapi.net/.default`).
pub fn arm_scope(arm_endpoint: &Url) -> String {
    format!("{}/.default", arm_endpoint.origin().ascii_serialization())
}

/// The `azure_identity` cloud for an authority host: the three named clouds, else custom.
pub fn cloud_for_authority(authority_host: &str) -> CloudConfiguration {
    let host = authority_host.trim_end_matches('/').to_ascii_lowercase();
    match host.as_str() {
        "https://login.microsoftonline.com" => CloudConfiguration::AzurePublic,
        "https://login.chinacloudapi.cn" => CloudConfiguration::AzureChina,
        "https://login.microsoftonline.us" => CloudConfiguration::AzureGovernment,
        _ => {
            let mut custom = CustomConfiguration::default();
            custom.authority_host = authority_host.trim_end_matches('/').to_string();
            CloudConfiguration::Custom(custom)
        }
    }
}

/// Build the configured credential. `env` reads the standard Azure identity variables
/// (`AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`, `AZURE_FEDERATED_TOKEN_FILE`);
/// `http` carries the token requests.
pub fn build_credential(
    azure: &AzureConfig,
    env: &dyn Fn(&str) -> Option<String>,
    http: reqwest::Client,
) -> Result<Arc<dyn TokenCredential>> {
    let f = Credentials {
        kind: azure.credential,
        env,
        transport: Transport::new(Arc::new(IdentityHttp(http))),
        cloud: Arc::new(cloud_for_authority(&azure.authority_host)),
    };
    Ok(match f.kind {
        CredentialKind::ClientSecret => f.client_secret()?,
        CredentialKind::WorkloadIdentity => f.workload()?,
        CredentialKind::ManagedIdentity => f.managed()?,
        CredentialKind::AzureCli => f.cli()?,
        CredentialKind::Default => {
            let mut links: Vec<(&'static str, Arc<dyn TokenCredential>)> = Vec::new();
            if f.var("AZURE_CLIENT_SECRET").is_some() {
                links.push(("client-secret", f.client_secret()?));
            }
            if f.var("AZURE_FEDERATED_TOKEN_FILE").is_some() {
                links.push(("workload-identity", f.workload()?));
            }
            links.push(("managed-identity", f.managed()?));
            links.push(("azure-cli", f.cli()?));
            Arc::new(ChainCredential::new(links))
        }
    })
}

/// What every credential is built with: the configured kind (for messages), the environment,
/// and the HTTP transport and cloud of the token requests.
struct Credentials<'a> {
    kind: CredentialKind,
    env: &'a dyn Fn(&str) -> Option<String>,
    transport: Transport,
    cloud: Arc<CloudConfiguration>,
}

impl Credentials<'_> {
    /// An environment variable, unless unset or blank.
    fn var(&self, name: &str) -> Option<String> {
        (self.env)(name).filter(|v| !v.trim().is_empty())
    }

    fn client_options(&self) -> ClientOptions {
        ClientOptions {
            transport: Some(self.transport.clone()),
            cloud: Some(self.cloud.clone()),
            ..Default::default()
        }
    }

    fn fail(&self, e: azure_core::Error) -> Error {
        Error::config(format!("azure.credential {}: {e}", self.kind.name()))
    }

    fn client_secret(&self) -> Result<Arc<dyn TokenCredential>> {
        let need = ["AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET"];
        let (Some(tenant), Some(client), Some(secret)) =
            (self.var(need[0]), self.var(need[1]), self.var(need[2]))
        else {
            return Err(Error::config(format!(
                "azure.credential client-secret needs {}",
                need.join(", ")
            )));
        };
        let cred = ClientSecretCredential::new(
            &tenant,
            client,
            Secret::new(secret),
            Some(ClientSecretCredentialOptions {
                client_options: self.client_options(),
            }),
        )
        .map_err(|e| self.fail(e))?;
        Ok(cred)
    }

    fn workload(&self) -> Result<Arc<dyn TokenCredential>> {
        let need = [
            "AZURE_TENANT_ID",
            "AZURE_CLIENT_ID",
            "AZURE_FEDERATED_TOKEN_FILE",
        ];
        if need.iter().any(|n| self.var(n).is_none()) {
            return Err(Error::config(format!(
                "azure.credential workload-identity needs {} (set by the AKS workload identity webhook)",
                need.join(", ")
            )));
        }
        let o = WorkloadIdentityCredentialOptions {
            credential_options: ClientAssertionCredentialOptions {
                client_options: self.client_options(),
            },
            tenant_id: self.var("AZURE_TENANT_ID"),
            client_id: self.var("AZURE_CLIENT_ID"),
            token_file_path: self.var("AZURE_FEDERATED_TOKEN_FILE").map(PathBuf::from),
        };
        let cred = WorkloadIdentityCredential::new(Some(o)).map_err(|e| self.fail(e))?;
        Ok(cred)
    }

    fn managed(&self) -> Result<Arc<dyn TokenCredential>> {
        let o = ManagedIdentityCredentialOptions {
            user_assigned_id: self.var("AZURE_CLIENT_ID").map(UserAssignedId::ClientId),
            client_options: self.client_options(),
        };
        let cred = ManagedIdentityCredential::new(Some(o)).map_err(|e| self.fail(e))?;
        Ok(cred)
    }

    fn cli(&self) -> Result<Arc<dyn TokenCredential>> {
        let o = azure_identity::AzureCliCredentialOptions {
            tenant_id: self.var("AZURE_TENANT_ID"),
            ..Default::default()
        };
        let cred = AzureCliCredential::new(Some(o)).map_err(|e| self.fail(e))?;
        Ok(cred)
    }
}

/// The `default` credential: tries each link in order; the first one that returns a token is
/// used for the rest of the run.
pub struct ChainCredential {
    links: Vec<(&'static str, Arc<dyn TokenCredential>)>,
    chosen: std::sync::Mutex<Option<usize>>,
}

impl ChainCredential {
    pub fn new(links: Vec<(&'static str, Arc<dyn TokenCredential>)>) -> ChainCredential {
        ChainCredential {
            links,
            chosen: std::sync::Mutex::new(None),
        }
    }
}

impl fmt::Debug for ChainCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<_> = self.links.iter().map(|(n, _)| *n).collect();
        f.debug_struct("ChainCredential")
            .field("links", &names)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl TokenCredential for ChainCredential {
    async fn get_token(
        &self,
        scopes: &[&str],
        options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        let chosen = *self.chosen.lock().unwrap();
        if let Some(i) = chosen {
            return self.links[i].1.get_token(scopes, options).await;
        }
        let mut failures = Vec::new();
        for (i, (name, cred)) in self.links.iter().enumerate() {
            match cred.get_token(scopes, options.clone()).await {
                Ok(token) => {
                    tracing::info!(
                        credential = *name,
                        "Entra ID credential chosen by the default chain"
                    );
                    *self.chosen.lock().unwrap() = Some(i);
                    return Ok(token);
                }
                Err(e) => failures.push(format!("{name}: {e}")),
            }
        }
        Err(azure_core::Error::with_message(
            azure_core::error::ErrorKind::Credential,
            format!(
                "no credential in the default chain answered ({})",
                failures.join("; ")
            ),
        ))
    }
}

/// A fixed token, for tests and benchmarks against a local fake of Resource Graph (and for
/// callers that obtained a token elsewhere). Each `get_token` call returns the next token of
/// the list (the last one repeats), valid for `lifetime`.
pub struct StaticTokenCredential {
    tokens: Vec<Secret>,
    next: std::sync::atomic::AtomicUsize,
    lifetime: Duration,
}

impl StaticTokenCredential {
    pub fn new(tokens: &[&str], lifetime: Duration) -> Arc<StaticTokenCredential> {
        assert!(!tokens.is_empty(), "at least one token");
        Arc::new(StaticTokenCredential {
            tokens: tokens.iter().map(|t| Secret::new(t.to_string())).collect(),
            next: Default::default(),
            lifetime,
        })
    }

    /// How many tokens were handed out.
    pub fn issued(&self) -> usize {
        self.next.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl fmt::Debug for StaticTokenCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticTokenCredential")
            .field("tokens", &self.tokens.len())
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl TokenCredential for StaticTokenCredential {
    async fn get_token(
        &self,
        _scopes: &[&str],
        _options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        let i = self.next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let token = self.tokens[i.min(self.tokens.len() - 1)].clone();
        Ok(AccessToken::new(
            token,
            OffsetDateTime::now_utc() + self.lifetime,
        ))
    }
}

/// A bearer token ready for the `Authorization` header. `Debug` shows only its generation.
#[derive(Clone)]
pub struct Bearer {
    header: String,
    /// Increases with each token fetched; lets a 401 invalidate exactly the token it rejected.
    pub generation: u64,
}

impl Bearer {
    /// The header value, `Bearer <token>`; mark it sensitive when building a request.
    pub fn header_value(&self) -> reqwest::header::HeaderValue {
        let mut v = reqwest::header::HeaderValue::from_str(&self.header)
            .unwrap_or_else(|_| reqwest::header::HeaderValue::from_static("Bearer invalid"));
        v.set_sensitive(true);
        v
    }
}

impl fmt::Debug for Bearer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Bearer(<redacted>, generation {})", self.generation)
    }
}

struct Cached {
    token: Secret,
    expires_on: OffsetDateTime,
    generation: u64,
}

/// The ARM token for one run: fetched on first use, reused while it has more than
/// [`REFRESH_MARGIN`] left, refetched after that or after [`TokenSource::invalidate`].
pub struct TokenSource {
    credential: Arc<dyn TokenCredential>,
    scope: String,
    label: String,
    cached: tokio::sync::Mutex<Option<Cached>>,
    generation: std::sync::atomic::AtomicU64,
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSource")
            .field("credential", &self.label)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl TokenSource {
    pub fn new(
        credential: Arc<dyn TokenCredential>,
        scope: impl Into<String>,
        label: impl Into<String>,
    ) -> TokenSource {
        TokenSource {
            credential,
            scope: scope.into(),
            label: label.into(),
            cached: tokio::sync::Mutex::new(None),
            generation: Default::default(),
        }
    }

    pub fn label(&self) -> &str {
        &self.label
    }

    /// A valid bearer token, refreshed when the cached one is within the margin of expiry.
    pub async fn bearer(&self) -> Result<Bearer> {
        let mut cached = self.cached.lock().await;
        let fresh_until = OffsetDateTime::now_utc() + REFRESH_MARGIN;
        if let Some(c) = cached.as_ref()
            && c.expires_on > fresh_until
        {
            return Ok(Bearer {
                header: format!("Bearer {}", c.token.secret()),
                generation: c.generation,
            });
        }
        let refresh = cached.is_some();
        let token = self
            .credential
            .get_token(&[self.scope.as_str()], None)
            .await
            .map_err(|e| {
                Error::source(
                    format!(
                        "Entra ID token for {} (credential {})",
                        self.scope, self.label
                    ),
                    e,
                )
            })?;
        let generation = self
            .generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
            + 1;
        tracing::debug!(
            credential = %self.label,
            refresh,
            expires_on = %token.expires_on,
            "ARM token acquired"
        );
        let bearer = Bearer {
            header: format!("Bearer {}", token.token.secret()),
            generation,
        };
        *cached = Some(Cached {
            token: token.token,
            expires_on: token.expires_on,
            generation,
        });
        Ok(bearer)
    }

    /// Forget the token of `generation` (ARM rejected it as expired or invalid); the next
    /// [`TokenSource::bearer`] fetches a new one. A newer token is kept.
    pub async fn invalidate(&self, generation: u64) {
        let mut cached = self.cached.lock().await;
        if cached.as_ref().is_some_and(|c| c.generation == generation) {
            *cached = None;
        }
    }
}

/// `azure_core`'s HTTP client trait over the job's reqwest 0.12 client, so identity requests
/// share its TLS stack, proxy settings and timeouts.
#[derive(Debug)]
struct IdentityHttp(reqwest::Client);

#[async_trait]
impl HttpClient for IdentityHttp {
    async fn execute_request(&self, request: &Request) -> azure_core::Result<AsyncRawResponse> {
        use azure_core::error::ErrorKind;
        let method = reqwest::Method::from_bytes(request.method().as_str().as_bytes())
            .map_err(|e| azure_core::Error::with_error(ErrorKind::Other, e, "HTTP method"))?;
        let mut req = self.0.request(method, request.url().clone());
        for (name, value) in request.headers().iter() {
            req = req.header(name.as_str(), value.as_str());
        }
        req = match request.body() {
            Body::Bytes(b) => req.body(b.clone()),
            Body::SeekableStream(_) => {
                return Err(azure_core::Error::with_message(
                    ErrorKind::Other,
                    "streaming request bodies are not used by identity requests",
                ));
            }
        };
        let rsp = req.send().await.map_err(|e| {
            let kind = if e.is_connect() {
                ErrorKind::Connection
            } else {
                ErrorKind::Io
            };
            azure_core::Error::with_error(kind, e, "identity request failed")
        })?;
        let status = rsp.status().as_u16();
        let mut headers = Headers::new();
        for (k, v) in rsp.headers() {
            if let Ok(v) = v.to_str() {
                headers.insert(
                    HeaderName::from(k.as_str().to_owned()),
                    HeaderValue::from(v.to_owned()),
                );
            }
        }
        let body = rsp
            .bytes()
            .await
            .map_err(|e| azure_core::Error::with_error(ErrorKind::Io, e, "identity response"))?;
        let stream = futures::stream::once(async move { Ok(body) });
        Ok(AsyncRawResponse::new(
            status.into(),
            headers,
            Box::pin(stream),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_follow_the_arm_endpoint() {
        let u = |s: &str| Url::parse(s).unwrap();
        assert_eq!(
            arm_scope(&u("https://management.azure.com")),
            "https://management.azure.com/.default"
        );
        assert_eq!(
            arm_scope(&u("https://management.chinacloudapi.cn/")),
            "https://management.chinacloudapi.cn/.default"
        );
        assert_eq!(
            arm_scope(&u("http://127.0.0.1:8080/x")),
            "http://127.0.0.1:8080/.default"
        );
        assert_eq!(
            cloud_for_authority("https://login.chinacloudapi.cn/"),
            CloudConfiguration::AzureChina
        );
        assert_eq!(
            cloud_for_authority("https://login.microsoftonline.us"),
            CloudConfiguration::AzureGovernment
        );
        assert!(matches!(
            cloud_for_authority("https://login.example.test"),
            CloudConfiguration::Custom(_)
        ));
    }

    #[test]
    fn secrets_stay_out_of_debug_and_errors() {
        let mut azure = AzureConfig {
            credential: CredentialKind::ClientSecret,
            ..AzureConfig::default()
        };
        let env = |k: &str| match k {
            "AZURE_TENANT_ID" => Some("72f988bf-86f1-41af-91ab-2d7cd011db47".to_string()),
            "AZURE_CLIENT_ID" => Some("app-id".to_string()),
            "AZURE_CLIENT_SECRET" => Some("s3cr3t-value".to_string()),
            _ => None,
        };
        let cred = build_credential(&azure, &env, reqwest::Client::new()).unwrap();
        assert!(!format!("{cred:?}").contains("s3cr3t"));
        let source = TokenSource::new(
            cred,
            "https://management.azure.com/.default",
            "client-secret",
        );
        assert!(!format!("{source:?}").contains("s3cr3t"));
        let b = Bearer {
            header: "Bearer tok-123".into(),
            generation: 1,
        };
        assert!(!format!("{b:?}").contains("tok-123"));
        assert!(format!("{:?}", b.header_value()).contains("Sensitive"));

        azure.credential = CredentialKind::ClientSecret;
        let e = build_credential(&azure, &|_| None, reqwest::Client::new())
            .unwrap_err()
            .to_string();
        assert!(e.contains("AZURE_CLIENT_SECRET"), "{e}");
        azure.credential = CredentialKind::WorkloadIdentity;
        let e = build_credential(&azure, &|_| None, reqwest::Client::new())
            .unwrap_err()
            .to_string();
        assert!(e.contains("AZURE_FEDERATED_TOKEN_FILE"), "{e}");
        // An unknown credential name cannot reach here: config loading refuses it (tested
        // in config).
    }

    #[test]
    fn default_chain_skips_links_without_variables() {
        let azure = AzureConfig::default();
        let cred = build_credential(&azure, &|_| None, reqwest::Client::new()).unwrap();
        let dbg = format!("{cred:?}");
        assert!(
            dbg.contains("managed-identity") && dbg.contains("azure-cli"),
            "{dbg}"
        );
        assert!(!dbg.contains("client-secret"), "{dbg}");
    }

    #[tokio::test]
    async fn cache_refreshes_near_expiry_and_after_invalidate() {
        // A token that expires inside the refresh margin is replaced on every use.
        let short = StaticTokenCredential::new(&["a", "b", "c"], Duration::from_secs(60));
        let src = TokenSource::new(short.clone(), "s/.default", "static");
        src.bearer().await.unwrap();
        src.bearer().await.unwrap();
        assert_eq!(short.issued(), 2);
        // A long-lived one is reused until ARM rejects it.
        let long = StaticTokenCredential::new(&["a", "b"], Duration::from_secs(3600));
        let src = TokenSource::new(long.clone(), "s/.default", "static");
        let b1 = src.bearer().await.unwrap();
        let b1again = src.bearer().await.unwrap();
        assert_eq!(b1.generation, b1again.generation);
        assert_eq!(long.issued(), 1);
        src.invalidate(b1.generation).await;
        let b2 = src.bearer().await.unwrap();
        assert_eq!(b2.generation, b1.generation + 1);
        assert_eq!(b2.header, "Bearer b");
        // Invalidating an old generation keeps the newer token.
        src.invalidate(b1.generation).await;
        assert_eq!(src.bearer().await.unwrap().generation, b2.generation);
    }
}
