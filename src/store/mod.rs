//! One store for local folders and Azure Blob Storage (the `object_store` crate, the storage
//! layer polars itself uses), with the only write the job needs: create-if-absent. Nothing is
//! ever overwritten, which is also what containers with immutability policies enforce.
//!
//! The store is synchronous on purpose: it drives its async client on a private runtime, so
//! the pipeline (and polars, which has its own runtime) never nests runtimes.

pub mod location;

use crate::error::{Error, Result};
use bytes::Bytes;
use futures::TryStreamExt;
use object_store::path::Path as ObjPath;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};
use std::sync::{Arc, OnceLock};

pub use location::{Location, redact};

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

#[derive(Clone, Debug)]
pub struct Store {
    inner: Arc<dyn ObjectStore>,
    /// Prefix inside the container (or folder) under which every relative path lives.
    prefix: String,
    /// What to print: the location with any secret removed.
    display: String,
}

/// An object found by `list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Path relative to the store's prefix, `/`-separated.
    pub path: String,
    pub size: u64,
}

impl Store {
    /// Open a folder (created if missing when `create` is set) or a blob URL.
    pub fn open(location: &str, create: bool) -> Result<Store> {
        let loc = Location::parse(location)?;
        let (inner, prefix) = loc.build(create)?;
        Ok(Store {
            inner,
            prefix,
            display: redact(location),
        })
    }

    pub fn from_object_store(inner: Arc<dyn ObjectStore>, prefix: &str, display: &str) -> Store {
        Store {
            inner,
            prefix: prefix.trim_matches('/').to_string(),
            display: display.to_string(),
        }
    }

    /// The location with secrets removed, for logs and manifests.
    pub fn display(&self) -> &str {
        &self.display
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

    /// Write `bytes` at `rel` only if nothing is there yet.
    pub fn put_new(&self, rel: &str, bytes: Bytes) -> Result<()> {
        let path = self.full(rel);
        let opts = PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        };
        let payload = PutPayload::from_bytes(bytes);
        runtime()
            .block_on(self.inner.put_opts(&path, payload, opts))
            .map(|_| ())
            .map_err(|e| match e {
                object_store::Error::AlreadyExists { .. } => Error::publish(
                    format!("{}/{rel}", self.display),
                    "already exists; runs never overwrite (start a new run-id)",
                ),
                other => Error::publish(format!("{}/{rel}", self.display), other),
            })
    }

    pub fn get(&self, rel: &str) -> Result<Bytes> {
        let path = self.full(rel);
        runtime()
            .block_on(async { self.inner.get(&path).await?.bytes().await })
            .map_err(|e| Error::source(format!("reading {}/{rel}", self.display), e))
    }

    pub fn exists(&self, rel: &str) -> Result<bool> {
        let path = self.full(rel);
        match runtime().block_on(self.inner.head(&path)) {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(Error::source(format!("checking {}/{rel}", self.display), e)),
        }
    }

    /// Every object below `rel_prefix`, sorted by path.
    pub fn list(&self, rel_prefix: &str) -> Result<Vec<Entry>> {
        let prefix = self.full(rel_prefix);
        let metas: Vec<_> = runtime()
            .block_on(self.inner.list(Some(&prefix)).try_collect())
            .map_err(|e| Error::source(format!("listing {}/{rel_prefix}", self.display), e))?;
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

    /// The object's path on the local file system when the store is a folder (so a reader
    /// can scan the file in place instead of copying it); None for blob storage.
    pub fn local_path(&self, rel: &str) -> Result<Option<std::path::PathBuf>> {
        let path = self.full(rel);
        let result = runtime()
            .block_on(self.inner.get(&path))
            .map_err(|e| Error::source(format!("reading {}/{rel}", self.display), e))?;
        Ok(match result.payload {
            object_store::GetResultPayload::File(_, p) => Some(p),
            _ => None,
        })
    }

    /// Open the object at `rel` for reading as a byte stream, chunk by chunk, so a
    /// multi-gigabyte export is never held in memory whole.
    pub fn open_read(&self, rel: &str) -> Result<ObjectReader> {
        let path = self.full(rel);
        let stream = runtime()
            .block_on(self.inner.get(&path))
            .map_err(|e| Error::source(format!("reading {}/{rel}", self.display), e))?
            .into_stream();
        Ok(ObjectReader {
            stream,
            chunk: Bytes::new(),
            origin: format!("{}/{rel}", self.display),
        })
    }

    pub fn delete(&self, rel: &str) -> Result<()> {
        let path = self.full(rel);
        runtime()
            .block_on(self.inner.delete(&path))
            .map_err(|e| Error::publish(format!("deleting {}/{rel}", self.display), e))
    }
}

/// A blocking `std::io::Read` over an object's byte stream (see `Store::open_read`).
pub struct ObjectReader {
    stream: futures::stream::BoxStream<'static, object_store::Result<Bytes>>,
    chunk: Bytes,
    origin: String,
}

impl std::io::Read for ObjectReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.chunk.is_empty() {
            match runtime().block_on(self.stream.try_next()) {
                Ok(Some(next)) => self.chunk = next,
                Ok(None) => return Ok(0),
                Err(e) => {
                    return Err(std::io::Error::other(format!(
                        "reading {}: {e}",
                        self.origin
                    )));
                }
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk.split_to(n));
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
    }
}
