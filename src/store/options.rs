//! How a store talks to Azure: credential, timeouts, retries, block size. Defaults suit a
//! scheduled job; `StoreOptions::from_config` takes the `[azure]` section.

use crate::config::Config;
use crate::error::Result;
use std::collections::BTreeMap;
use std::time::Duration;

/// The Entra ID credential named by `azure.credential` (storage keys and SAS tokens from the
/// environment, or a SAS in the URL, take precedence, as they do for Azure's own tools).
pub use crate::config::CredentialKind;

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
    /// Credential, authority, timeout and attempts from the `[azure]` section.
    pub fn from_config(config: &Config) -> Result<StoreOptions> {
        let azure = &config.azure;
        Ok(StoreOptions {
            credential: CredentialKind::parse(&azure.credential)?,
            authority_host: Some(azure.authority_host.clone()),
            request_timeout: Duration::from_secs(azure.request_timeout_secs.max(1)),
            max_retries: azure.max_attempts.saturating_sub(1) as usize,
            ..StoreOptions::default()
        })
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
