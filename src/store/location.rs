//! Where a store points: a local folder, an Azure Blob URL
//! (`https://<account>.blob.core.windows.net/<container>/<prefix>`), or the Azurite form
//! (`http://127.0.0.1:10000/devstoreaccount1/<container>/<prefix>`).

use crate::error::{Error, Result};
use object_store::ObjectStore;
use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
use object_store::local::LocalFileSystem;
use std::sync::Arc;

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
        let is_emulator = host == "127.0.0.1" || host == "localhost";
        let (endpoint, account) = if is_emulator {
            // Path-style: the account is the first path segment.
            if segments.is_empty() {
                return Err(Error::config(format!(
                    "{}: no account in the path",
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

    /// Build the object store and the prefix inside it.
    pub fn build(&self, create: bool) -> Result<(Arc<dyn ObjectStore>, String)> {
        match self {
            Location::Folder(dir) => {
                if create {
                    std::fs::create_dir_all(dir).map_err(|e| {
                        Error::publish(dir.display(), format!("cannot create folder: {e}"))
                    })?;
                } else if !dir.is_dir() {
                    return Err(Error::config(format!("{}: no such folder", dir.display())));
                }
                let fs = LocalFileSystem::new_with_prefix(dir)
                    .map_err(|e| Error::config(format!("{}: {e}", dir.display())))?;
                Ok((Arc::new(fs), String::new()))
            }
            Location::Blob(b) => Ok((Arc::new(b.build()?), b.prefix.clone())),
        }
    }
}

impl BlobLocation {
    /// Credentials, in the order Azure's own tools use: a SAS in the URL, then
    /// `AZURE_STORAGE_CONNECTION_STRING`, `AZURE_STORAGE_KEY`, `AZURE_STORAGE_SAS_TOKEN`, then
    /// the Entra ID chain object_store reads from the standard `AZURE_*` variables.
    fn build(&self) -> Result<object_store::azure::MicrosoftAzure> {
        let mut b = MicrosoftAzureBuilder::new()
            .with_account(&self.account)
            .with_container_name(&self.container)
            .with_endpoint(self.endpoint.clone())
            .with_allow_http(self.endpoint.starts_with("http://"));
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        if let Some(sas) = &self.sas {
            b = b.with_config(AzureConfigKey::SasKey, sas);
        } else if let Some(cs) = env("AZURE_STORAGE_CONNECTION_STRING") {
            for part in cs.split(';') {
                if let Some((k, v)) = part.split_once('=') {
                    match k.trim() {
                        "AccountKey" => b = b.with_access_key(v.trim()),
                        "SharedAccessSignature" => {
                            b = b.with_config(AzureConfigKey::SasKey, v.trim())
                        }
                        _ => {}
                    }
                }
            }
        } else if let Some(key) = env("AZURE_STORAGE_KEY") {
            b = b.with_access_key(key);
        } else if let Some(sas) = env("AZURE_STORAGE_SAS_TOKEN") {
            b = b.with_config(AzureConfigKey::SasKey, sas.trim_start_matches('?'));
        } else {
            for (var, key) in [
                ("AZURE_CLIENT_ID", AzureConfigKey::ClientId),
                ("AZURE_CLIENT_SECRET", AzureConfigKey::ClientSecret),
                ("AZURE_TENANT_ID", AzureConfigKey::AuthorityId),
                (
                    "AZURE_FEDERATED_TOKEN_FILE",
                    AzureConfigKey::FederatedTokenFile,
                ),
                ("AZURE_AUTHORITY_HOST", AzureConfigKey::AuthorityHost),
            ] {
                if let Some(v) = env(var) {
                    b = b.with_config(key, v);
                }
            }
        }
        b.build()
            .map_err(|e| Error::config(format!("{}: {e}", self.redacted())))
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
        assert_eq!(redact("https://a/b?sig=x"), "https://a/b?<redacted>");
    }
}
