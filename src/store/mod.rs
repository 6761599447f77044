//! One store for local folders and Azure Blob Storage (the `object_store` crate, the storage
//! layer polars itself uses), with the only write the job needs: create-if-absent. Nothing is
//! ever overwritten, which is also what containers with immutability policies enforce.
//!
//! - Small files: one `Put Blob` with `If-None-Match: *` (`put_new`).
//! - Large files: blocks of `StoreOptions::block_size`, a few in flight, then a conditional
//!   `Put Block List` (`put_new_file`); memory stays at a few blocks whatever the file size.
//! - Reads stream (`open_read`, `get_to_file`), so a multi-GB export is never held in memory.
//! - Runs: `begin_run` / `RunWriter::commit` write `<period>/<run-id>/...` with `manifest.json`
//!   last; `newest_committed_run` is how every reader picks a run.
//!
//! The store is synchronous on purpose: it drives its async client on a private runtime, so
//! the pipeline (and polars, which has its own runtime) never nests runtimes. Do not call it
//! from inside an async task.

mod blocks;
pub mod location;
pub mod options;
pub mod publish;

use crate::error::{Error, Result};
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use object_store::azure::MicrosoftAzure;
use object_store::client::{HttpClient, HttpConnector, ReqwestConnector};
use object_store::path::Path as ObjPath;
use object_store::{
    Attribute, Attributes, ClientOptions, ObjectStore, ObjectStoreExt, PutMode, PutOptions,
    PutPayload, WriteMultipart,
};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

pub use location::{AZURITE_ACCOUNT_KEY, BlobLocation, CredentialPlan, Location, redact};
pub use options::{CredentialKind, StoreOptions};
pub use publish::{MANIFEST, PublishedFile, RunWriter, content_type};

/// The runtime every store call runs on.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .thread_name("store-io")
            .build()
            .expect("tokio runtime")
    })
}

/// What sits behind the `ObjectStore`, for the operations that need more than the trait.
enum Backend {
    Folder(PathBuf),
    Blob {
        azure: Arc<MicrosoftAzure>,
        http: HttpClient,
        location: BlobLocation,
        plan: CredentialPlan,
    },
    /// Any other `ObjectStore` (tests, in-memory).
    Other,
}

#[derive(Clone)]
pub struct Store {
    inner: Arc<dyn ObjectStore>,
    backend: Arc<Backend>,
    options: Arc<StoreOptions>,
    /// Prefix inside the container (or folder) under which every relative path lives.
    prefix: String,
    /// What to print: the location with any secret removed.
    display: String,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("location", &self.display)
            .finish()
    }
}

/// An object found by `list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Path relative to the store's prefix, `/`-separated.
    pub path: String,
    pub size: u64,
}

/// What `put_new_file` wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub size: u64,
    /// SHA-256 of the content, lower-case hex.
    pub sha256: String,
}

impl Store {
    /// Open a folder (created if missing when `create` is set) or a blob URL, with default
    /// options (credential chain `default`).
    pub fn open(location: &str, create: bool) -> Result<Store> {
        Store::open_with(location, create, &StoreOptions::default())
    }

    /// Open with explicit options (`Config::store_options` for the configured credential).
    /// Nothing is sent over the network until the first call; `check` tests the location.
    pub fn open_with(location: &str, create: bool, options: &StoreOptions) -> Result<Store> {
        let display = redact(location);
        match Location::parse(location)? {
            Location::Folder(dir) => {
                if create {
                    std::fs::create_dir_all(&dir).map_err(|e| {
                        Error::publish(dir.display(), format!("cannot create folder: {e}"))
                    })?;
                } else if !dir.is_dir() {
                    return Err(Error::config(format!("{}: no such folder", dir.display())));
                }
                let fs = object_store::local::LocalFileSystem::new_with_prefix(&dir)
                    .map_err(|e| Error::config(format!("{}: {e}", dir.display())))?;
                Ok(Store {
                    inner: Arc::new(fs),
                    backend: Arc::new(Backend::Folder(dir)),
                    options: Arc::new(options.clone()),
                    prefix: String::new(),
                    display,
                })
            }
            Location::Blob(loc) => {
                let (azure, plan) = loc.build(options)?;
                let client = ClientOptions::new()
                    .with_allow_http(loc.endpoint.starts_with("http://"))
                    .with_timeout(options.request_timeout)
                    .with_connect_timeout(options.connect_timeout);
                let http = ReqwestConnector::default()
                    .connect(&client)
                    .map_err(|e| Error::config(format!("{display}: {e}")))?;
                let azure = Arc::new(azure);
                Ok(Store {
                    inner: azure.clone(),
                    prefix: loc.prefix.clone(),
                    backend: Arc::new(Backend::Blob {
                        azure,
                        http,
                        location: loc,
                        plan,
                    }),
                    options: Arc::new(options.clone()),
                    display,
                })
            }
        }
    }

    pub fn from_object_store(inner: Arc<dyn ObjectStore>, prefix: &str, display: &str) -> Store {
        Store {
            inner,
            backend: Arc::new(Backend::Other),
            options: Arc::new(StoreOptions::default()),
            prefix: prefix.trim_matches('/').to_string(),
            display: display.to_string(),
        }
    }

    /// The location with secrets removed, for logs and manifests.
    pub fn display(&self) -> &str {
        &self.display
    }

    /// Which credential a blob store uses (never the secret), `None` for folders.
    pub fn credential(&self) -> Option<String> {
        match &*self.backend {
            Backend::Blob { plan, .. } => Some(plan.describe()),
            _ => None,
        }
    }

    pub fn is_blob(&self) -> bool {
        matches!(&*self.backend, Backend::Blob { .. })
    }

    /// The file behind `rel` when the store is a local folder: readers can scan it in place.
    pub fn local_path(&self, rel: &str) -> Option<PathBuf> {
        match &*self.backend {
            Backend::Folder(dir) => Some(dir.join(rel.trim_matches('/'))),
            _ => None,
        }
    }

    /// Reach the location once: the container exists and the credential may list it.
    pub fn check(&self) -> Result<()> {
        let prefix = self.full("");
        runtime()
            .block_on(self.inner.list_with_delimiter(Some(&prefix)))
            .map(|_| ())
            .map_err(|e| Error::source(self.display.clone(), self.explain(&e)).with_cause(e))
    }

    fn full(&self, rel: &str) -> ObjPath {
        let rel = rel.trim_matches('/');
        if self.prefix.is_empty() {
            ObjPath::from(rel)
        } else if rel.is_empty() {
            ObjPath::from(self.prefix.as_str())
        } else {
            ObjPath::from(format!("{}/{rel}", self.prefix))
        }
    }

    fn relative(&self, full: &ObjPath) -> String {
        let s = full.as_ref();
        if self.prefix.is_empty() {
            s.to_string()
        } else {
            s.strip_prefix(&self.prefix)
                .unwrap_or(s)
                .trim_start_matches('/')
                .to_string()
        }
    }

    fn at(&self, rel: &str) -> String {
        format!(
            "{}/{}",
            self.display.trim_end_matches('/'),
            rel.trim_matches('/')
        )
    }

    /// Turn an object_store error into a sentence; a missing container says what to do.
    fn explain(&self, e: &object_store::Error) -> String {
        let text = crate::error::without_url_queries(&e.to_string());
        if let Backend::Blob { location, .. } = &*self.backend
            && text.contains("ContainerNotFound")
        {
            return format!(
                "container '{}' does not exist at {}: create it first (defender-ledger never creates containers)",
                location.container, location.endpoint
            );
        }
        if text.contains("AuthenticationFailed") || text.contains("AuthorizationFailure") {
            let cred = self.credential().unwrap_or_default();
            return format!("access denied with {cred}: {text}");
        }
        text
    }

    fn put_error(&self, rel: &str, e: object_store::Error) -> Error {
        match e {
            object_store::Error::AlreadyExists { .. } => already_exists(&self.at(rel)),
            other => Error::publish(self.at(rel), self.explain(&other)).with_cause(other),
        }
    }

    fn put_options(&self, rel: &str) -> PutOptions {
        let mut attributes = Attributes::new();
        // Local folders have no content types (object_store refuses attributes there).
        if self.is_blob() {
            attributes.insert(Attribute::ContentType, content_type(rel).into());
        }
        PutOptions {
            mode: PutMode::Create,
            attributes,
            ..Default::default()
        }
    }

    /// Write `bytes` at `rel` only if nothing is there yet, with the content type its
    /// extension implies.
    pub fn put_new(&self, rel: &str, bytes: Bytes) -> Result<()> {
        let path = self.full(rel);
        let payload = PutPayload::from_bytes(bytes);
        runtime()
            .block_on(self.inner.put_opts(&path, payload, self.put_options(rel)))
            .map(|_| ())
            .map_err(|e| self.put_error(rel, e))
    }

    /// Copy the local file `local` to `rel` only if nothing is there yet, streaming it: files
    /// from `block_size` up go as blocks, at most `upload_concurrency` in flight. Returns the
    /// size and SHA-256 of what was uploaded.
    pub fn put_new_file(&self, rel: &str, local: &Path) -> Result<Written> {
        match &*self.backend {
            Backend::Folder(dir) => {
                let target = dir.join(rel.trim_matches('/'));
                folder_put_new_file(&target, local).map_err(|e| match e.kind() {
                    std::io::ErrorKind::AlreadyExists => already_exists(&self.at(rel)),
                    _ => Error::publish_err(self.at(rel), e),
                })
            }
            Backend::Blob {
                azure,
                http,
                location,
                ..
            } => self.put_new_blob(rel, local, azure, http, location),
            Backend::Other => self.put_new_multipart(rel, local),
        }
    }

    fn read_error(&self, rel: &str, local: &Path, e: std::io::Error) -> Error {
        Error::publish(self.at(rel), format!("reading {}: {e}", local.display()))
    }

    /// Azure Blob: one create-only put when the file fits one block, else committed blocks.
    fn put_new_blob(
        &self,
        rel: &str,
        local: &Path,
        azure: &MicrosoftAzure,
        http: &HttpClient,
        location: &BlobLocation,
    ) -> Result<Written> {
        let open_err = |e| self.read_error(rel, local, e);
        let path = self.full(rel);
        let opts = &*self.options;
        runtime().block_on(async {
            let mut file = tokio::fs::File::open(local).await.map_err(open_err)?;
            let first = blocks::read_block(&mut file, opts.block_size)
                .await
                .map_err(open_err)?;
            if first.len() < opts.block_size {
                let written = Written {
                    size: first.len() as u64,
                    sha256: hex::encode(Sha256::digest(&first)),
                };
                self.inner
                    .put_opts(&path, first.into(), self.put_options(rel))
                    .await
                    .map_err(|e| self.put_error(rel, e))?;
                return Ok(written);
            }
            blocks::upload_blocks(
                azure,
                http,
                location,
                opts,
                &path,
                first,
                file,
                content_type(rel),
            )
            .await
            .map(|(size, sha256)| Written { size, sha256 })
            .map_err(|e| match e {
                blocks::UploadError::AlreadyExists => already_exists(&self.at(rel)),
                blocks::UploadError::Store(e) => self.put_error(rel, e),
                other => Error::publish(self.at(rel), other),
            })
        })
    }

    /// Generic stores: refuse when something is there, then stream in parts.
    fn put_new_multipart(&self, rel: &str, local: &Path) -> Result<Written> {
        if self.exists(rel)? {
            return Err(already_exists(&self.at(rel)));
        }
        let open_err = |e| self.read_error(rel, local, e);
        let path = self.full(rel);
        let block = self.options.block_size;
        runtime().block_on(async {
            let mut file = tokio::fs::File::open(local).await.map_err(open_err)?;
            let upload = self
                .inner
                .put_multipart(&path)
                .await
                .map_err(|e| self.put_error(rel, e))?;
            let mut writer = WriteMultipart::new_with_chunk_size(upload, block);
            let mut hasher = Sha256::new();
            let mut size = 0u64;
            loop {
                let chunk = blocks::read_block(&mut file, block)
                    .await
                    .map_err(open_err)?;
                if chunk.is_empty() {
                    break;
                }
                writer
                    .wait_for_capacity(self.options.upload_concurrency)
                    .await
                    .map_err(|e| self.put_error(rel, e))?;
                hasher.update(&chunk);
                size += chunk.len() as u64;
                writer.put(chunk);
            }
            writer.finish().await.map_err(|e| self.put_error(rel, e))?;
            Ok(Written {
                size,
                sha256: hex::encode(hasher.finalize()),
            })
        })
    }

    /// The whole object in memory: for small files (markers, manifests, snapshots). Use
    /// `open_read` or `get_to_file` for exports.
    pub fn get(&self, rel: &str) -> Result<Bytes> {
        let path = self.full(rel);
        runtime()
            .block_on(async { self.inner.get(&path).await?.bytes().await })
            .map_err(|e| {
                Error::source(format!("reading {}", self.at(rel)), self.explain(&e)).with_cause(e)
            })
    }

    /// Like `get`, but `None` when the object does not exist (one request, not a HEAD first).
    pub fn get_opt(&self, rel: &str) -> Result<Option<Bytes>> {
        let path = self.full(rel);
        match runtime().block_on(async { self.inner.get(&path).await?.bytes().await }) {
            Ok(b) => Ok(Some(b)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(
                Error::source(format!("reading {}", self.at(rel)), self.explain(&e)).with_cause(e),
            ),
        }
    }

    /// A streaming reader: memory stays at one network chunk whatever the object size.
    pub fn open_read(&self, rel: &str) -> Result<Box<dyn Read + Send>> {
        self.open_read_opt(rel)?.ok_or_else(|| {
            Error::source(format!("reading {}", self.at(rel)), "no such file or blob")
        })
    }

    /// Like `open_read`, but `None` when the object does not exist (one request).
    pub fn open_read_opt(&self, rel: &str) -> Result<Option<Box<dyn Read + Send>>> {
        if let Some(local) = self.local_path(rel) {
            return match std::fs::File::open(&local) {
                Ok(f) => Ok(Some(Box::new(std::io::BufReader::with_capacity(
                    1 << 20,
                    f,
                )))),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(Error::source(format!("reading {}", self.at(rel)), e)),
            };
        }
        let path = self.full(rel);
        let stream = match runtime().block_on(self.inner.get(&path)) {
            Ok(r) => r.into_stream(),
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => {
                return Err(
                    Error::source(format!("reading {}", self.at(rel)), self.explain(&e))
                        .with_cause(e),
                );
            }
        };
        Ok(Some(Box::new(StreamRead {
            stream,
            buf: Bytes::new(),
            context: self.at(rel),
        })))
    }

    /// Stream `rel` into the local file `target` (created or truncated); returns bytes written.
    pub fn get_to_file(&self, rel: &str, target: &Path) -> Result<u64> {
        let ctx = || format!("downloading {} to {}", self.at(rel), target.display());
        let path = self.full(rel);
        runtime().block_on(async {
            let mut out = tokio::fs::File::create(target)
                .await
                .map_err(|e| Error::source_err(ctx(), e))?;
            let mut stream = self
                .inner
                .get(&path)
                .await
                .map_err(|e| Error::source(ctx(), self.explain(&e)).with_cause(e))?
                .into_stream();
            let mut n = 0u64;
            while let Some(chunk) = stream.next().await {
                let chunk =
                    chunk.map_err(|e| Error::source(ctx(), self.explain(&e)).with_cause(e))?;
                n += chunk.len() as u64;
                tokio::io::AsyncWriteExt::write_all(&mut out, &chunk)
                    .await
                    .map_err(|e| Error::source_err(ctx(), e))?;
            }
            tokio::io::AsyncWriteExt::flush(&mut out)
                .await
                .map_err(|e| Error::source_err(ctx(), e))?;
            Ok(n)
        })
    }

    /// The content type stored with a blob (`None` for folders and untyped objects).
    pub fn content_type_of(&self, rel: &str) -> Result<Option<String>> {
        if !self.is_blob() {
            return Ok(None);
        }
        let path = self.full(rel);
        let opts = object_store::GetOptions {
            head: true,
            ..Default::default()
        };
        let got = runtime()
            .block_on(self.inner.get_opts(&path, opts))
            .map_err(|e| {
                Error::source(format!("reading {}", self.at(rel)), self.explain(&e)).with_cause(e)
            })?;
        Ok(got
            .attributes
            .get(&Attribute::ContentType)
            .map(|v| v.as_ref().to_string()))
    }

    pub fn exists(&self, rel: &str) -> Result<bool> {
        let path = self.full(rel);
        match runtime().block_on(self.inner.head(&path)) {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(
                Error::source(format!("checking {}", self.at(rel)), self.explain(&e)).with_cause(e),
            ),
        }
    }

    /// Every object below `rel_prefix`, sorted by path.
    pub fn list(&self, rel_prefix: &str) -> Result<Vec<Entry>> {
        let prefix = self.full(rel_prefix);
        let metas: Vec<_> = runtime()
            .block_on(self.inner.list(Some(&prefix)).try_collect())
            .map_err(|e| {
                Error::source(format!("listing {}", self.at(rel_prefix)), self.explain(&e))
                    .with_cause(e)
            })?;
        let mut out: Vec<Entry> = metas
            .into_iter()
            .map(|m| Entry {
                path: self.relative(&m.location),
                size: m.size,
            })
            .collect();
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    /// The names of the "folders" directly below `rel_prefix`, sorted.
    pub fn list_dirs(&self, rel_prefix: &str) -> Result<Vec<String>> {
        let prefix = self.full(rel_prefix);
        let listed = runtime()
            .block_on(self.inner.list_with_delimiter(Some(&prefix)))
            .map_err(|e| {
                Error::source(format!("listing {}", self.at(rel_prefix)), self.explain(&e))
                    .with_cause(e)
            })?;
        let mut out: Vec<String> = listed
            .common_prefixes
            .iter()
            .filter_map(|p| p.filename().map(String::from))
            .collect();
        out.sort();
        Ok(out)
    }

    pub fn delete(&self, rel: &str) -> Result<()> {
        let path = self.full(rel);
        runtime().block_on(self.inner.delete(&path)).map_err(|e| {
            Error::publish(format!("deleting {}", self.at(rel)), self.explain(&e)).with_cause(e)
        })
    }
}

fn already_exists(at: &str) -> Error {
    Error::publish(
        at,
        "already exists; runs never overwrite (start a new run-id)",
    )
}

/// Copy to a temporary file beside the target, then hard-link it into place: the link fails if
/// the target exists, so a folder store never overwrites either.
fn folder_put_new_file(target: &Path, local: &Path) -> std::io::Result<Written> {
    let parent = target.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)?;
    if target.exists() {
        return Err(std::io::ErrorKind::AlreadyExists.into());
    }
    // Created like any other published file (0666 less the umask), not private to the job
    // as temporary files are by default.
    let mut tmp = tempfile::Builder::new()
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666))
        .tempfile_in(parent)?;
    let mut src = std::fs::File::open(local)?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = src.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        std::io::Write::write_all(&mut tmp, &buf[..n])?;
        size += n as u64;
    }
    tmp.as_file().sync_all()?;
    std::fs::hard_link(tmp.path(), target)?;
    Ok(Written {
        size,
        sha256: hex::encode(hasher.finalize()),
    })
}

/// A blocking `Read` over an object_store byte stream.
struct StreamRead {
    stream: futures::stream::BoxStream<'static, object_store::Result<Bytes>>,
    buf: Bytes,
    context: String,
}

impl Read for StreamRead {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.buf.is_empty() {
            match runtime().block_on(self.stream.next()) {
                None => return Ok(0),
                Some(Ok(b)) => self.buf = b,
                Some(Err(e)) => {
                    return Err(std::io::Error::other(format!(
                        "reading {}: {e}",
                        self.context
                    )));
                }
            }
        }
        let n = out.len().min(self.buf.len());
        out[..n].copy_from_slice(&self.buf[..n]);
        bytes::Buf::advance(&mut self.buf, n);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_store_never_overwrites_and_lists_relative_paths() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("out").to_str().unwrap(), true).unwrap();
        store
            .put_new("2026-10/r1/a.csv", Bytes::from_static(b"x"))
            .unwrap();
        store
            .put_new("2026-10/r1/b/c.csv", Bytes::from_static(b"y"))
            .unwrap();
        let err = store
            .put_new("2026-10/r1/a.csv", Bytes::from_static(b"z"))
            .unwrap_err();
        assert!(err.to_string().contains("already exists"), "{err}");
        assert_eq!(store.get("2026-10/r1/a.csv").unwrap().as_ref(), b"x");
        let listed: Vec<_> = store
            .list("2026-10")
            .unwrap()
            .into_iter()
            .map(|e| e.path)
            .collect();
        assert_eq!(listed, ["2026-10/r1/a.csv", "2026-10/r1/b/c.csv"]);
        assert!(!store.exists("nope").unwrap());
        assert_eq!(store.list_dirs("2026-10").unwrap(), ["r1"]);
        assert_eq!(store.list_dirs("2026-10/r1").unwrap(), ["b"]);
    }

    #[test]
    fn folder_store_streams_files_in_and_out() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("out").to_str().unwrap(), true).unwrap();
        let src = dir.path().join("big.bin");
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&src, &data).unwrap();
        let w = store.put_new_file("r/big.bin", &src).unwrap();
        assert_eq!(w.size, data.len() as u64);
        assert_eq!(w.sha256, hex::encode(Sha256::digest(&data)));
        let err = store.put_new_file("r/big.bin", &src).unwrap_err();
        assert!(err.to_string().contains("already exists"), "{err}");
        let mut back = Vec::new();
        store
            .open_read("r/big.bin")
            .unwrap()
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, data);
        let copy = dir.path().join("copy.bin");
        assert_eq!(
            store.get_to_file("r/big.bin", &copy).unwrap(),
            data.len() as u64
        );
        assert_eq!(std::fs::read(&copy).unwrap(), data);
        // Only the file itself is left: no temporary files beside it.
        assert_eq!(store.list("r").unwrap().len(), 1);
    }

    #[test]
    fn generic_store_streams_in_parts() {
        let inner = Arc::new(object_store::memory::InMemory::new());
        let store = Store::from_object_store(inner, "p", "memory");
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("f.bin");
        std::fs::write(&src, vec![7u8; 200_000]).unwrap();
        let w = store.put_new_file("a/f.bin", &src).unwrap();
        assert_eq!(w.size, 200_000);
        assert!(store.put_new_file("a/f.bin", &src).is_err());
        let mut back = Vec::new();
        store
            .open_read("a/f.bin")
            .unwrap()
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back.len(), 200_000);
    }
}
