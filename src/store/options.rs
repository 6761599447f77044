//! How a store talks to Azure: credential, timeouts, retries, block size. Defaults suit a
//! scheduled job; `Config::store_options` takes them from the `[azure]` section.

use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::time::Duration;

/// The credentials `azure.credential` can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum CredentialKind {
    /// Entra Workload ID on Kubernetes: `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`,
    /// `AZURE_FEDERATED_TOKEN_FILE` (set by the AKS webhook).
    WorkloadIdentity,
    /// The VM's or App Service's managed identity; `AZURE_CLIENT_ID` picks a user-assigned one.
    ManagedIdentity,
    /// A service principal: `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`.
    ClientSecret,
    /// The account logged in with `az login` (`az account get-access-token`).
    AzureCli,
    /// The chain: client secret and workload identity when their variables are set, then
    /// managed identity, then Azure CLI; the first that answers is kept for the run.
    Default,
}

impl CredentialKind {
    pub const ALL: [(&'static str, CredentialKind); 5] = [
        ("workload-identity", CredentialKind::WorkloadIdentity),
        ("managed-identity", CredentialKind::ManagedIdentity),
        ("client-secret", CredentialKind::ClientSecret),
        ("azure-cli", CredentialKind::AzureCli),
        ("default", CredentialKind::Default),
    ];

    pub fn parse(name: &str) -> Result<CredentialKind> {
        Self::ALL
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, k)| *k)
            .ok_or_else(|| {
                Error::config(format!(
                    "azure.credential '{name}' is not one of {}",
                    Self::ALL.map(|(n, _)| n).join(", ")
                ))
            })
    }

    pub fn name(self) -> &'static str {
        Self::ALL.iter().find(|(_, k)| *k == self).unwrap().0
    }
}

impl TryFrom<String> for CredentialKind {
    type Error = String;
    fn try_from(name: String) -> std::result::Result<Self, String> {
        CredentialKind::parse(&name).map_err(|e| e.to_string())
    }
}

impl From<CredentialKind> for String {
    fn from(k: CredentialKind) -> String {
        k.name().to_string()
    }
}

#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub credential: CredentialKind,
    /// Entra ID authority for sovereign clouds; `AZURE_AUTHORITY_HOST` wins when set.
    pub authority_host: Option<String>,
    /// One HTTP request (a block, a small blob, a page of a listing).
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
    /// Retries after the first attempt, on 5xx, 429, 408, connection errors and (for requests
    /// that are safe to repeat) timeouts, with exponential backoff.
    pub max_retries: usize,
    pub retry_timeout: Duration,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// Files at least this large are uploaded as blocks of this size.
    pub block_size: usize,
    /// Blocks in flight at once; memory per upload is about `block_size × (concurrency + 1)`.
    pub upload_concurrency: usize,
    /// Values used before the process environment (tests, embedding).
    env_overrides: BTreeMap<String, String>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            credential: CredentialKind::Default,
            authority_host: None,
            request_timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            max_retries: 5,
            retry_timeout: Duration::from_secs(120),
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(15),
            block_size: 8 * 1024 * 1024,
            upload_concurrency: 4,
            env_overrides: BTreeMap::new(),
        }
    }
}

impl StoreOptions {
    /// Entra ID authority for sovereign clouds (`AZURE_AUTHORITY_HOST` still wins).
    pub fn with_authority_host(mut self, host: &str) -> Self {
        self.authority_host = Some(host.to_string());
        self
    }

    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Attempts per request, the first included.
    pub fn with_attempts(mut self, attempts: u32) -> Self {
        self.max_retries = attempts.saturating_sub(1) as usize;
        self
    }

    pub fn with_credential(mut self, credential: CredentialKind) -> Self {
        self.credential = credential;
        self
    }

    /// Use `value` for the environment variable `name` (for example
    /// `AZURE_STORAGE_CONNECTION_STRING`) without touching the process environment.
    pub fn with_env(mut self, name: &str, value: &str) -> Self {
        self.env_overrides
            .insert(name.to_string(), value.to_string());
        self
    }

    /// Few fast retries: for tests that stop the server on purpose.
    pub fn with_retries(mut self, max_retries: usize, retry_timeout: Duration) -> Self {
        self.max_retries = max_retries;
        self.retry_timeout = retry_timeout;
        self.initial_backoff = Duration::from_millis(50);
        self.max_backoff = Duration::from_millis(500);
        self
    }

    pub fn with_block_size(mut self, block_size: usize) -> Self {
        self.block_size = block_size.max(64 * 1024);
        self
    }

    pub(crate) fn env(&self, name: &str) -> Option<String> {
        self.env_overrides
            .get(name)
            .cloned()
            .or_else(|| std::env::var(name).ok())
            .filter(|v| !v.trim().is_empty())
    }
}
