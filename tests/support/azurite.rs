//! Azurite for integration tests: one shared instance per test binary (in memory), or a private
//! one (persisted in a temp folder) for tests that stop and restart it.
//!
//! With `AZURITE_BLOB_ENDPOINT` set (for example by `eval "$(scripts/azurite.sh start)"`), the
//! shared instance is that one. Otherwise the binary comes from `AZURITE_BIN`, the cache that
//! `scripts/azurite.sh install` fills, or is installed there on first use.
//!
//! Azurite runs under `sh`, reading our stdin: when the test process exits (even on a panic or a
//! kill), the pipe closes and `sh` stops Azurite, so no emulator outlives its tests.

#![allow(dead_code)]

use defender_ledger::store::{AZURITE_ACCOUNT_KEY, StoreOptions, runtime};
use object_store::ClientOptions;
use object_store::azure::{AzureAccessKey, AzureAuthorizer, AzureCredential};
use object_store::client::{HttpClient, HttpConnector, HttpRequestBody, ReqwestConnector};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub const ACCOUNT: &str = "devstoreaccount1";

pub struct Azurite {
    child: Option<Child>,
    stdin: Option<ChildStdin>,
    pub port: u16,
    _log_dir: tempfile::TempDir,
}

fn binary() -> PathBuf {
    if let Ok(bin) = std::env::var("AZURITE_BIN") {
        return PathBuf::from(bin);
    }
    let home = std::env::var("AZURITE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            let cache = std::env::var("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").unwrap()).join(".cache"));
            cache.join("defender-ledger/azurite")
        });
    let bin = home.join("node_modules/.bin/azurite-blob");
    if bin.is_file() {
        return bin;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/azurite.sh");
    let out = Command::new("bash")
        .arg(script)
        .arg("install")
        .stderr(Stdio::inherit())
        .output()
        .expect("run scripts/azurite.sh install");
    assert!(out.status.success(), "scripts/azurite.sh install failed");
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

impl Azurite {
    /// Start on `port` (0: any free port), in memory or persisted in `location`.
    pub fn start(location: Option<&Path>, port: u16) -> Azurite {
        let bin = binary();
        let mut args: Vec<String> = vec![
            "--blobHost".into(),
            "127.0.0.1".into(),
            "--blobPort".into(),
            port.to_string(),
            "--skipApiVersionCheck".into(),
            "--disableTelemetry".into(),
            "--silent".into(),
        ];
        match location {
            Some(dir) => {
                args.push("--location".into());
                args.push(dir.display().to_string());
            }
            None => {
                args.push("--inMemoryPersistence".into());
                args.push("--extentMemoryLimit".into());
                args.push("1024".into());
            }
        }
        // Azurite logs to a file (a pipe would break when the test process exits first).
        let log_dir = tempfile::tempdir().unwrap();
        let log = log_dir.path().join("azurite.log");
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(r#"log=$1; shift; "$@" >"$log" 2>&1 & pid=$!; cat >/dev/null; kill $pid 2>/dev/null; wait $pid"#)
            .arg("sh")
            .arg(&log)
            .arg(&bin)
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", bin.display()));
        let stdin = child.stdin.take();
        let deadline = Instant::now() + Duration::from_secs(60);
        let port = loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if let Some(rest) = text
                .split("successfully listens on http://127.0.0.1:")
                .nth(1)
            {
                let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
                break digits.parse::<u16>().unwrap();
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("Azurite exited ({status}):\n{text}");
            }
            assert!(
                Instant::now() < deadline,
                "Azurite did not start within 60 s:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(25));
        };
        Azurite {
            child: Some(child),
            stdin,
            port,
            _log_dir: log_dir,
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}/{ACCOUNT}", self.port)
    }

    /// Stop the emulator and wait until its port is closed.
    pub fn stop(&mut self) {
        drop(self.stdin.take());
        if let Some(mut child) = self.child.take() {
            let _ = child.wait();
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok()
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Azurite {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The shared emulator's endpoint, `http://127.0.0.1:<port>/devstoreaccount1`.
pub fn shared() -> &'static str {
    static SHARED: OnceLock<(Option<Azurite>, String)> = OnceLock::new();
    &SHARED
        .get_or_init(|| match std::env::var("AZURITE_BLOB_ENDPOINT") {
            Ok(ep) if !ep.is_empty() => (None, ep.trim_end_matches('/').to_string()),
            _ => {
                let a = Azurite::start(None, 0);
                let ep = a.endpoint();
                (Some(a), ep)
            }
        })
        .1
}

/// A container name no other test uses.
pub fn unique_container(tag: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// The account key: the well-known one unless `AZURITE_ACCOUNT_KEY` says otherwise.
pub fn account_key() -> String {
    std::env::var("AZURITE_ACCOUNT_KEY").unwrap_or_else(|_| AZURITE_ACCOUNT_KEY.to_string())
}

/// Store options that sign with the emulator's key, whatever the process environment holds.
/// An `AZURE_STORAGE_CONNECTION_STRING` for the emulator's account with `key`.
pub fn connection_string(endpoint: &str, key: &str) -> String {
    format!(
        "DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={key};BlobEndpoint={endpoint};"
    )
}

pub fn options(endpoint: &str) -> StoreOptions {
    let cs = connection_string(endpoint, &account_key());
    StoreOptions::default().with_env("AZURE_STORAGE_CONNECTION_STRING", &cs)
}

fn http() -> HttpClient {
    ReqwestConnector::default()
        .connect(&ClientOptions::new().with_allow_http(true))
        .unwrap()
}

/// One signed request with an empty body; returns (status, body).
pub fn signed(method: http::Method, url: &str) -> (u16, String) {
    let credential = AzureCredential::AccessKey(AzureAccessKey::try_new(&account_key()).unwrap());
    let mut req = http::Request::builder()
        .method(method)
        .uri(url)
        .header(http::header::CONTENT_LENGTH, 0)
        .body(HttpRequestBody::empty())
        .unwrap();
    AzureAuthorizer::new(&credential, ACCOUNT).authorize(&mut req);
    runtime().block_on(async {
        let resp = http().execute(req).await.expect("request to Azurite");
        let status = resp.status().as_u16();
        let body = resp.into_body().bytes().await.unwrap_or_default();
        (status, String::from_utf8_lossy(&body).into_owned())
    })
}

/// Create a container (the product never does: it expects the container to exist).
pub fn create_container(endpoint: &str, container: &str) {
    let (status, body) = signed(
        http::Method::PUT,
        &format!("{endpoint}/{container}?restype=container"),
    );
    assert!(
        status == 201 || status == 409,
        "create container: {status} {body}"
    );
}

/// A fresh container on the shared emulator and the store URL for `prefix` inside it.
pub fn fresh_location(tag: &str, prefix: &str) -> (String, String) {
    let ep = shared();
    let container = unique_container(tag);
    create_container(ep, &container);
    (format!("{ep}/{container}/{prefix}"), ep.to_string())
}

/// Committed blocks of a blob (`GET ?comp=blocklist`).
pub fn committed_blocks(endpoint: &str, container: &str, blob: &str) -> usize {
    let (status, body) = signed(
        http::Method::GET,
        &format!("{endpoint}/{container}/{blob}?comp=blocklist&blocklisttype=committed"),
    );
    assert_eq!(status, 200, "{body}");
    body.matches("<Block>").count()
}

/// HMAC-SHA256, written out (the tests need it only to sign a SAS).
fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let inner: Vec<u8> = k
        .iter()
        .map(|b| b ^ 0x36)
        .chain(msg.iter().copied())
        .collect();
    let inner = Sha256::digest(&inner);
    let outer: Vec<u8> = k
        .iter()
        .map(|b| b ^ 0x5c)
        .chain(inner.iter().copied())
        .collect();
    Sha256::digest(&outer).into()
}

/// A read-and-list-only service SAS for a whole container (`sr=c`, `sp=rl`), as an operator
/// would hand out to someone who must not write: the query string, without `?`.
pub fn read_only_container_sas(container: &str) -> String {
    use base64::Engine;
    let version = "2023-11-03";
    let start = "2020-01-01T00:00:00Z";
    let expiry = "2099-01-01T00:00:00Z";
    let resource = format!("/blob/{ACCOUNT}/{container}");
    let to_sign = format!("rl\n{start}\n{expiry}\n{resource}\n\n\n\n{version}\nc\n\n\n\n\n\n\n");
    let key = base64::engine::general_purpose::STANDARD
        .decode(account_key())
        .unwrap();
    let sig =
        base64::engine::general_purpose::STANDARD.encode(hmac_sha256(&key, to_sign.as_bytes()));
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "sv={version}&sp=rl&st={}&se={}&sr=c&sig={}",
        enc(start),
        enc(expiry),
        enc(&sig)
    )
}
