//! Large files as Azure block blobs, with bounded memory and without ever overwriting.
//!
//! Blocks go up through object_store (`MultipartStore::put_part`, with its retries), a few at a
//! time. The commit (`Put Block List`) is sent here, signed by object_store's own
//! `AzureAuthorizer`, because object_store's multipart commit cannot carry `If-None-Match: *`:
//! without it, committing a block list silently replaces an existing blob. Uncommitted blocks
//! are discarded by Azure after a week, so a failed upload leaves nothing visible.

use super::location::BlobLocation;
use super::options::StoreOptions;
use base64::Engine;
use base64::prelude::BASE64_STANDARD;
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::FuturesOrdered;
use object_store::azure::{AzureAuthorizer, MicrosoftAzure};
use object_store::client::{HttpClient, HttpRequestBody};
use object_store::multipart::{MultipartStore, PartId};
use object_store::path::Path as ObjPath;
use object_store::{ObjectStoreExt, PutPayload};
use sha2::{Digest, Sha256};
use std::time::Duration;
use tokio::io::AsyncReadExt;

/// Why an upload failed, kept apart so the caller can word "already exists" differently.
#[derive(Debug)]
pub enum UploadError {
    AlreadyExists,
    Io(std::io::Error),
    Store(object_store::Error),
    /// Put Block List answered with an error status.
    Commit {
        status: u16,
        body: String,
    },
    Transport(String),
}

impl std::fmt::Display for UploadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UploadError::AlreadyExists => f.write_str("already exists"),
            UploadError::Io(e) => write!(f, "reading the local file: {e}"),
            UploadError::Store(e) => write!(f, "{e}"),
            UploadError::Commit { status, body } => {
                write!(f, "committing the block list: HTTP {status}: {body}")
            }
            UploadError::Transport(e) => write!(f, "committing the block list: {e}"),
        }
    }
}

/// Read up to `size` bytes (fewer only at end of file).
pub async fn read_block(file: &mut tokio::fs::File, size: usize) -> std::io::Result<Bytes> {
    let mut buf = Vec::with_capacity(size);
    while buf.len() < size {
        let n = (&mut *file)
            .take((size - buf.len()) as u64)
            .read_to_end(&mut buf)
            .await?;
        if n == 0 {
            break;
        }
    }
    Ok(Bytes::from(buf))
}

/// Upload `first` (already read) and the rest of `file` as blocks, then commit only if no blob
/// exists at `path`. Returns the size and SHA-256 of everything uploaded.
#[allow(clippy::too_many_arguments)]
pub async fn upload_blocks(
    azure: &MicrosoftAzure,
    http: &HttpClient,
    loc: &BlobLocation,
    options: &StoreOptions,
    path: &ObjPath,
    first: Bytes,
    mut file: tokio::fs::File,
    content_type: &str,
) -> Result<(u64, String), UploadError> {
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut parts: Vec<PartId> = Vec::new();
    let mut in_flight = FuturesOrdered::new();
    let mut next = Some(first);
    let mut idx = 0usize;
    while let Some(block) = next.take() {
        hasher.update(&block);
        size += block.len() as u64;
        let payload = PutPayload::from_bytes(block);
        let part_idx = idx;
        idx += 1;
        in_flight.push_back(async move {
            azure
                .put_part(path, &String::new(), part_idx, payload)
                .await
        });
        if in_flight.len() >= options.upload_concurrency.max(1) {
            let done = in_flight.next().await.expect("a block is in flight");
            parts.push(done.map_err(UploadError::Store)?);
        }
        let more = read_block(&mut file, options.block_size)
            .await
            .map_err(UploadError::Io)?;
        if !more.is_empty() {
            next = Some(more);
        }
    }
    while let Some(done) = in_flight.next().await {
        parts.push(done.map_err(UploadError::Store)?);
    }
    commit_if_absent(azure, http, loc, options, path, &parts, content_type, size).await?;
    Ok((size, hex::encode(hasher.finalize())))
}

fn block_list_xml(parts: &[PartId]) -> String {
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<BlockList>");
    for p in parts {
        xml.push_str("<Latest>");
        xml.push_str(&BASE64_STANDARD.encode(&p.content_id));
        xml.push_str("</Latest>");
    }
    xml.push_str("</BlockList>");
    xml
}

/// `Put Block List` with `If-None-Match: *`, retried with backoff on 5xx, 408, 429 and transport
/// errors. A 409 after an ambiguous earlier attempt is checked: if the blob now has exactly our
/// size, that earlier attempt committed it.
#[allow(clippy::too_many_arguments)]
async fn commit_if_absent(
    azure: &MicrosoftAzure,
    http: &HttpClient,
    loc: &BlobLocation,
    options: &StoreOptions,
    path: &ObjPath,
    parts: &[PartId],
    content_type: &str,
    size: u64,
) -> Result<(), UploadError> {
    let commit = BlockListCommit {
        azure,
        http,
        loc,
        path,
        url: block_list_url(loc, path)?,
        body: Bytes::from(block_list_xml(parts)),
        content_type,
        size,
    };
    let started = std::time::Instant::now();
    let mut backoff = options.initial_backoff;
    let mut attempt = 0usize;
    // Whether an earlier attempt may have committed without our hearing back.
    let mut ambiguous = false;
    loop {
        let retryable = match commit.attempt(ambiguous).await {
            Attempt::Done(result) => return result,
            Attempt::Retry(e) => e,
        };
        ambiguous = true;
        attempt += 1;
        if attempt > options.max_retries || started.elapsed() > options.retry_timeout {
            return Err(retryable);
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2)
            .min(options.max_backoff)
            .max(Duration::from_millis(1));
    }
}

/// `<endpoint>/<container>/<path>?comp=blocklist`.
fn block_list_url(loc: &BlobLocation, path: &ObjPath) -> Result<url::Url, UploadError> {
    let mut url =
        url::Url::parse(&loc.endpoint).map_err(|e| UploadError::Transport(e.to_string()))?;
    url.path_segments_mut()
        .map_err(|_| UploadError::Transport("endpoint cannot hold a path".into()))?
        .pop_if_empty()
        .push(&loc.container)
        .extend(path.parts());
    url.query_pairs_mut().append_pair("comp", "blocklist");
    Ok(url)
}

/// One blob's block list, ready to commit.
struct BlockListCommit<'a> {
    azure: &'a MicrosoftAzure,
    http: &'a HttpClient,
    loc: &'a BlobLocation,
    path: &'a ObjPath,
    url: url::Url,
    body: Bytes,
    content_type: &'a str,
    size: u64,
}

/// How one commit attempt ended: for good (committed, or an error no retry fixes), or with an
/// error worth retrying.
enum Attempt {
    Done(Result<(), UploadError>),
    Retry(UploadError),
}

impl BlockListCommit<'_> {
    /// Send the block list once and classify the answer.
    async fn attempt(&self, ambiguous: bool) -> Attempt {
        let req = match self.request().await {
            Ok(req) => req,
            Err(e) => return Attempt::Done(Err(e)),
        };
        let resp = match self.http.execute(req).await {
            Ok(resp) => resp,
            Err(e) => return Attempt::Retry(UploadError::Transport(e.to_string())),
        };
        let status = resp.status();
        if status.is_success() {
            return Attempt::Done(Ok(()));
        }
        let text = resp
            .into_body()
            .bytes()
            .await
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        if status.as_u16() == 409 || status.as_u16() == 412 {
            if ambiguous
                && let Ok(meta) = self.azure.head(self.path).await
                && meta.size == self.size
            {
                return Attempt::Done(Ok(()));
            }
            if text.contains("BlobAlreadyExists")
                || text.contains("ConditionNotMet")
                || status.as_u16() == 412
            {
                return Attempt::Done(Err(UploadError::AlreadyExists));
            }
        }
        let error = UploadError::Commit {
            status: status.as_u16(),
            body: text,
        };
        let transient = status.is_server_error() || matches!(status.as_u16(), 408 | 429);
        match transient {
            true => Attempt::Retry(error),
            false => Attempt::Done(Err(error)),
        }
    }

    /// The signed `Put Block List` request, create-only.
    async fn request(&self) -> Result<http::Request<HttpRequestBody>, UploadError> {
        let credential = self
            .azure
            .credentials()
            .get_credential()
            .await
            .map_err(UploadError::Store)?;
        let mut req = http::Request::builder()
            .method(http::Method::PUT)
            .uri(self.url.as_str())
            .header(http::header::CONTENT_LENGTH, self.body.len())
            .header(http::header::IF_NONE_MATCH, "*")
            .header("x-ms-blob-content-type", self.content_type)
            .body(HttpRequestBody::from(self.body.clone()))
            .map_err(|e| UploadError::Transport(e.to_string()))?;
        AzureAuthorizer::new(&credential, &self.loc.account).authorize(&mut req);
        Ok(req)
    }
}
