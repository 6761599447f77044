//! Where a store points: a local folder, an Azure Blob URL
//! (`https://<account>.blob.core.windows.net/<container>/<prefix>`), or the Azurite form
//! (`http://127.0.0.1:10000/devstoreaccount1/<container>/<prefix>`), and which credential opens it.

use super::options::{CredentialKind, StoreOptions};
use crate::error::{Error, Result};
use object_store::azure::{AzureConfigKey, MicrosoftAzure, MicrosoftAzureBuilder};
use object_store::{BackoffConfig, ClientOptions, RetryConfig};

/// The account key every Azurite instance accepts for `devstoreaccount1` (public, documented by
/// Microsoft; used for `UseDevelopmentStorage=true`).
pub const AZURITE_ACCOUNT_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

#[derive(Debug, Clone, PartialEq)]
pub enum Location {
    Folder(std::path::PathBuf),
    Blob(BlobLocation),
}

#[derive(Debug, Clone, PartialEq)]
pub struct BlobLocation {
    /// `https://acct.blob.core.windows.net` or `http://127.0.0.1:10000/devstoreaccount1`.
    pub endpoint: String,
    pub account: String,
    pub container: String,
    pub prefix: String,
    /// A SAS token given in the URL's query string (a secret: never printed).
    pub sas: Option<String>,
}

impl Location {
    pub fn parse(s: &str) -> Result<Location> {
        if !(s.starts_with("https://") || s.starts_with("http://")) {
            return Ok(Location::Folder(std::path::PathBuf::from(s)));
        }
        let url = url::Url::parse(s).map_err(|e| Error::config(format!("{}: {e}", redact(s))))?;
        let host = url.host_str().unwrap_or_default().to_string();
        let mut segments: Vec<String> = url
            .path_segments()
            .map(|p| p.filter(|s| !s.is_empty()).map(String::from).collect())
            .unwrap_or_default();
        let sas = url.query().filter(|q| !q.is_empty()).map(String::from);
        let is_emulator = host == "127.0.0.1" || host == "localhost" || host == "[::1]";
        let (endpoint, account) = if is_emulator {
            // Path-style: the account is the first path segment.
            if segments.is_empty() {
                return Err(Error::config(format!(
                    "{}: no account in the path (expected http://127.0.0.1:10000/devstoreaccount1/<container>/<prefix>)",
                    redact(s)
                )));
            }
            let account = segments.remove(0);
            let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
            (
                format!("{}://{host}{port}/{account}", url.scheme()),
                account,
            )
        } else {
            let account = host.split('.').next().unwrap_or_default().to_string();
            (format!("{}://{host}", url.scheme()), account)
        };
        if segments.is_empty() {
            return Err(Error::config(format!(
                "{}: no container in the URL (expected .../<container>/<prefix>)",
                redact(s)
            )));
        }
        let container = segments.remove(0);
        Ok(Location::Blob(BlobLocation {
            endpoint,
            account,
            container,
            prefix: segments.join("/"),
            sas,
        }))
    }
}

/// Which credential a blob location is opened with. Chosen without touching the network, so the
/// choice can be tested and reported before anything is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialPlan {
    /// SAS token from the URL's query string or `AZURE_STORAGE_SAS_TOKEN` /
    /// `SharedAccessSignature=` in the connection string.
    Sas {
        from: &'static str,
    },
    /// Shared key from `AccountKey=` in the connection string or `AZURE_STORAGE_KEY`.
    AccountKey {
        from: &'static str,
    },
    WorkloadIdentity,
    ManagedIdentity,
    ClientSecret,
    AzureCli,
}

impl CredentialPlan {
    /// A name for logs (never the secret itself).
    pub fn describe(&self) -> String {
        match self {
            CredentialPlan::Sas { from } => format!("SAS token ({from})"),
            CredentialPlan::AccountKey { from } => format!("account key ({from})"),
            CredentialPlan::WorkloadIdentity => "Entra ID workload identity".into(),
            CredentialPlan::ManagedIdentity => "Entra ID managed identity".into(),
            CredentialPlan::ClientSecret => "Entra ID client secret".into(),
            CredentialPlan::AzureCli => "Entra ID token from the Azure CLI".into(),
        }
    }
}

/// Secrets found for a plan, kept apart from the plan so the plan can be printed.
#[derive(Default)]
struct Secrets {
    sas: Option<String>,
    key: Option<String>,
}

/// The parts of a connection string this job uses.
fn parse_connection_string(cs: &str) -> (Option<String>, Option<String>) {
    let (mut key, mut sas) = (None, None);
    for part in cs.split(';') {
        let Some((k, v)) = part.split_once('=') else {
            continue;
        };
        match k.trim() {
            "AccountKey" => key = Some(v.trim().to_string()),
            "SharedAccessSignature" => sas = Some(v.trim().trim_start_matches('?').to_string()),
            "UseDevelopmentStorage" if v.trim().eq_ignore_ascii_case("true") => {
                key = Some(AZURITE_ACCOUNT_KEY.to_string())
            }
            _ => {}
        }
    }
    (key, sas)
}

impl BlobLocation {
    /// Choose the credential, in the order Azure's own tools use: a SAS in the URL, then
    /// `AZURE_STORAGE_CONNECTION_STRING`, `AZURE_STORAGE_KEY`, `AZURE_STORAGE_SAS_TOKEN`, then the
    /// Entra ID credential named by `azure.credential`.
    pub fn plan(
        &self,
        kind: CredentialKind,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<CredentialPlan> {
        self.plan_with_secrets(kind, env).map(|(p, _)| p)
    }

    fn plan_with_secrets(
        &self,
        kind: CredentialKind,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(CredentialPlan, Secrets)> {
        match self.secret_plan(env)? {
            Some(found) => Ok(found),
            None => Ok((self.identity_plan(kind, env)?, Secrets::default())),
        }
    }

    /// A SAS or account key, when the URL or the environment gives one: it wins over any
    /// identity.
    fn secret_plan(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<(CredentialPlan, Secrets)>> {
        if let Some(sas) = &self.sas {
            return Ok(Some((
                CredentialPlan::Sas { from: "URL" },
                Secrets {
                    sas: Some(sas.clone()),
                    key: None,
                },
            )));
        }
        if let Some(cs) = env("AZURE_STORAGE_CONNECTION_STRING") {
            let (key, sas) = parse_connection_string(&cs);
            if key.is_some() {
                return Ok(Some((
                    CredentialPlan::AccountKey {
                        from: "AZURE_STORAGE_CONNECTION_STRING",
                    },
                    Secrets { sas: None, key },
                )));
            }
            if sas.is_some() {
                return Ok(Some((
                    CredentialPlan::Sas {
                        from: "AZURE_STORAGE_CONNECTION_STRING",
                    },
                    Secrets { sas, key: None },
                )));
            }
            return Err(Error::config(
                "AZURE_STORAGE_CONNECTION_STRING holds neither AccountKey= nor SharedAccessSignature=",
            ));
        }
        if let Some(key) = env("AZURE_STORAGE_KEY") {
            return Ok(Some((
                CredentialPlan::AccountKey {
                    from: "AZURE_STORAGE_KEY",
                },
                Secrets {
                    sas: None,
                    key: Some(key),
                },
            )));
        }
        if let Some(sas) = env("AZURE_STORAGE_SAS_TOKEN") {
            return Ok(Some((
                CredentialPlan::Sas {
                    from: "AZURE_STORAGE_SAS_TOKEN",
                },
                Secrets {
                    sas: Some(sas.trim_start_matches('?').to_string()),
                    key: None,
                },
            )));
        }
        Ok(None)
    }

    /// The identity `azure.credential` names, once its environment variables are checked
    /// (`default`: the first the environment provides).
    fn identity_plan(
        &self,
        kind: CredentialKind,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<CredentialPlan> {
        let has = |k: &str| env(k).is_some();
        let need = |vars: &[&str], what: &str| -> Result<()> {
            let missing: Vec<&str> = vars.iter().copied().filter(|v| !has(v)).collect();
            if missing.is_empty() {
                Ok(())
            } else {
                Err(Error::config(format!(
                    "azure.credential = {what} needs {} (for {})",
                    missing.join(", "),
                    self.redacted()
                )))
            }
        };
        Ok(match kind {
            CredentialKind::WorkloadIdentity => {
                need(
                    &[
                        "AZURE_CLIENT_ID",
                        "AZURE_TENANT_ID",
                        "AZURE_FEDERATED_TOKEN_FILE",
                    ],
                    "workload-identity",
                )?;
                CredentialPlan::WorkloadIdentity
            }
            CredentialKind::ClientSecret => {
                need(
                    &["AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET"],
                    "client-secret",
                )?;
                CredentialPlan::ClientSecret
            }
            CredentialKind::ManagedIdentity => CredentialPlan::ManagedIdentity,
            CredentialKind::AzureCli => CredentialPlan::AzureCli,
            CredentialKind::Default => {
                let ids = has("AZURE_CLIENT_ID") && has("AZURE_TENANT_ID");
                if ids && has("AZURE_CLIENT_SECRET") {
                    CredentialPlan::ClientSecret
                } else if ids && has("AZURE_FEDERATED_TOKEN_FILE") {
                    CredentialPlan::WorkloadIdentity
                } else if has("IDENTITY_ENDPOINT") || has("MSI_ENDPOINT") {
                    CredentialPlan::ManagedIdentity
                } else if azure_cli_on_path(env) {
                    CredentialPlan::AzureCli
                } else {
                    CredentialPlan::ManagedIdentity
                }
            }
        })
    }

    /// Build the object_store client for this location.
    pub fn build(&self, options: &StoreOptions) -> Result<(MicrosoftAzure, CredentialPlan)> {
        let env = |k: &str| options.env(k);
        let (plan, secrets) = self.plan_with_secrets(options.credential, &env)?;
        let client = ClientOptions::new()
            .with_allow_http(self.endpoint.starts_with("http://"))
            .with_timeout(options.request_timeout)
            .with_connect_timeout(options.connect_timeout);
        let retry = RetryConfig {
            backoff: BackoffConfig {
                init_backoff: options.initial_backoff,
                max_backoff: options.max_backoff,
                base: 2.0,
            },
            max_retries: options.max_retries,
            retry_timeout: options.retry_timeout,
        };
        let mut b = MicrosoftAzureBuilder::new()
            .with_account(&self.account)
            .with_container_name(&self.container)
            .with_endpoint(self.endpoint.clone())
            .with_client_options(client)
            .with_retry(retry);
        if let Some(host) = env("AZURE_AUTHORITY_HOST").or_else(|| options.authority_host.clone()) {
            b = b.with_authority_host(host);
        }
        match &plan {
            CredentialPlan::Sas { .. } => {
                b = b.with_config(AzureConfigKey::SasKey, secrets.sas.unwrap_or_default());
            }
            CredentialPlan::AccountKey { .. } => {
                b = b.with_access_key(secrets.key.unwrap_or_default());
            }
            CredentialPlan::WorkloadIdentity => {
                b = b
                    .with_client_id(env("AZURE_CLIENT_ID").unwrap_or_default())
                    .with_tenant_id(env("AZURE_TENANT_ID").unwrap_or_default())
                    .with_federated_token_file(
                        env("AZURE_FEDERATED_TOKEN_FILE").unwrap_or_default(),
                    );
            }
            CredentialPlan::ClientSecret => {
                b = b
                    .with_client_id(env("AZURE_CLIENT_ID").unwrap_or_default())
                    .with_tenant_id(env("AZURE_TENANT_ID").unwrap_or_default())
                    .with_client_secret(env("AZURE_CLIENT_SECRET").unwrap_or_default());
            }
            CredentialPlan::ManagedIdentity => {
                // A user-assigned identity is named by its client id; App Service, Container
                // Apps and Arc publish their token endpoint in IDENTITY_ENDPOINT.
                if let Some(id) = env("AZURE_CLIENT_ID") {
                    b = b.with_client_id(id);
                }
                if let Some(ep) = env("IDENTITY_ENDPOINT").or_else(|| env("MSI_ENDPOINT")) {
                    b = b.with_msi_endpoint(ep);
                }
            }
            CredentialPlan::AzureCli => b = b.with_use_azure_cli(true),
        }
        let store = b
            .build()
            .map_err(|e| Error::config(format!("{}: {e}", self.redacted())))?;
        Ok((store, plan))
    }

    pub fn redacted(&self) -> String {
        let mut s = format!("{}/{}", self.endpoint, self.container);
        if !self.prefix.is_empty() {
            s.push('/');
            s.push_str(&self.prefix);
        }
        s
    }
}

fn azure_cli_on_path(env: &dyn Fn(&str) -> Option<String>) -> bool {
    env("PATH").is_some_and(|path| {
        std::env::split_paths(&path)
            .any(|dir| dir.join("az").is_file() || dir.join("az.cmd").is_file())
    })
}

/// A location with its query string (SAS token) removed: safe for logs and manifests.
pub fn redact(location: &str) -> String {
    match location.split_once('?') {
        Some((base, _)) => format!("{base}?<redacted>"),
        None => location.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn parses_folder_blob_and_azurite_forms() {
        assert_eq!(
            Location::parse("./out").unwrap(),
            Location::Folder("./out".into())
        );
        let Location::Blob(b) = Location::parse(
            "https://acct.blob.core.windows.net/reports/ledger/prod?sv=1&sig=SECRET",
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(
            (b.account.as_str(), b.container.as_str(), b.prefix.as_str()),
            ("acct", "reports", "ledger/prod")
        );
        assert_eq!(b.sas.as_deref(), Some("sv=1&sig=SECRET"));
        assert!(!b.redacted().contains("SECRET"));
        let Location::Blob(b) =
            Location::parse("http://127.0.0.1:10000/devstoreaccount1/c/p").unwrap()
        else {
            panic!()
        };
        assert_eq!(b.endpoint, "http://127.0.0.1:10000/devstoreaccount1");
        assert_eq!(
            (b.account.as_str(), b.container.as_str(), b.prefix.as_str()),
            ("devstoreaccount1", "c", "p")
        );
        assert!(Location::parse("https://acct.blob.core.windows.net/").is_err());
        assert!(Location::parse("http://127.0.0.1:10000/devstoreaccount1").is_err());
        assert_eq!(redact("https://a/b?sig=x"), "https://a/b?<redacted>");
    }

    fn blob(url: &str) -> BlobLocation {
        match Location::parse(url).unwrap() {
            Location::Blob(b) => b,
            Location::Folder(_) => panic!("{url} is a blob URL"),
        }
    }

    fn plan(url: &str, kind: CredentialKind, vars: &[(&str, &str)]) -> Result<CredentialPlan> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        blob(url).plan(kind, &|k| vars.get(k).cloned())
    }

    #[test]
    fn credential_order_follows_azure_tools() {
        let url = "https://acct.blob.core.windows.net/c/p";
        let d = CredentialKind::Default;
        assert_eq!(
            plan(&format!("{url}?sig=x"), d, &[("AZURE_STORAGE_KEY", "k")]).unwrap(),
            CredentialPlan::Sas { from: "URL" }
        );
        assert_eq!(
            plan(
                url,
                d,
                &[
                    (
                        "AZURE_STORAGE_CONNECTION_STRING",
                        "AccountName=a;AccountKey=k;"
                    ),
                    ("AZURE_STORAGE_SAS_TOKEN", "sig=x"),
                ]
            )
            .unwrap(),
            CredentialPlan::AccountKey {
                from: "AZURE_STORAGE_CONNECTION_STRING"
            }
        );
        assert_eq!(
            plan(
                url,
                d,
                &[(
                    "AZURE_STORAGE_CONNECTION_STRING",
                    "SharedAccessSignature=sv=1&sig=x"
                )]
            )
            .unwrap(),
            CredentialPlan::Sas {
                from: "AZURE_STORAGE_CONNECTION_STRING"
            }
        );
        assert!(
            plan(
                url,
                d,
                &[("AZURE_STORAGE_CONNECTION_STRING", "AccountName=a")]
            )
            .is_err()
        );
        assert_eq!(
            plan(url, d, &[("AZURE_STORAGE_SAS_TOKEN", "?sig=x")]).unwrap(),
            CredentialPlan::Sas {
                from: "AZURE_STORAGE_SAS_TOKEN"
            }
        );
        let (key, _) = parse_connection_string("UseDevelopmentStorage=true");
        assert_eq!(key.as_deref(), Some(AZURITE_ACCOUNT_KEY));
    }

    #[test]
    fn entra_credentials_from_config_and_environment() {
        let url = "https://acct.blob.core.windows.net/c";
        let sp = [
            ("AZURE_CLIENT_ID", "id"),
            ("AZURE_TENANT_ID", "t"),
            ("AZURE_CLIENT_SECRET", "s"),
        ];
        let wi = [
            ("AZURE_CLIENT_ID", "id"),
            ("AZURE_TENANT_ID", "t"),
            ("AZURE_FEDERATED_TOKEN_FILE", "/var/run/token"),
        ];
        assert_eq!(
            plan(url, CredentialKind::Default, &sp).unwrap(),
            CredentialPlan::ClientSecret
        );
        assert_eq!(
            plan(url, CredentialKind::Default, &wi).unwrap(),
            CredentialPlan::WorkloadIdentity
        );
        assert_eq!(
            plan(
                url,
                CredentialKind::Default,
                &[("IDENTITY_ENDPOINT", "http://x")]
            )
            .unwrap(),
            CredentialPlan::ManagedIdentity
        );
        assert_eq!(
            plan(url, CredentialKind::Default, &[("PATH", "/nonexistent")]).unwrap(),
            CredentialPlan::ManagedIdentity
        );
        assert_eq!(
            plan(url, CredentialKind::AzureCli, &sp).unwrap(),
            CredentialPlan::AzureCli
        );
        let err = plan(url, CredentialKind::WorkloadIdentity, &sp).unwrap_err();
        assert!(
            err.to_string().contains("AZURE_FEDERATED_TOKEN_FILE"),
            "{err}"
        );
        let err = plan(url, CredentialKind::ClientSecret, &[]).unwrap_err();
        assert!(err.to_string().contains("AZURE_CLIENT_SECRET"), "{err}");
    }

    #[test]
    fn builds_every_plan_without_network() {
        // Building never sends a request: tokens are fetched on first use.
        let b = blob("https://acct.blob.core.windows.net/c/p");
        for (kind, vars) in [
            (
                CredentialKind::ClientSecret,
                vec![
                    ("AZURE_CLIENT_ID", "id"),
                    ("AZURE_TENANT_ID", "t"),
                    ("AZURE_CLIENT_SECRET", "s"),
                ],
            ),
            (
                CredentialKind::WorkloadIdentity,
                vec![
                    ("AZURE_CLIENT_ID", "id"),
                    ("AZURE_TENANT_ID", "t"),
                    ("AZURE_FEDERATED_TOKEN_FILE", "/nonexistent"),
                ],
            ),
            (CredentialKind::ManagedIdentity, vec![]),
            (CredentialKind::AzureCli, vec![]),
            (
                CredentialKind::Default,
                vec![("AZURE_STORAGE_KEY", AZURITE_ACCOUNT_KEY)],
            ),
        ] {
            let mut opts = StoreOptions::default().with_credential(kind);
            for (k, v) in vars {
                opts = opts.with_env(k, v);
            }
            b.build(&opts).unwrap();
        }
    }
}
