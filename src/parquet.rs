//! Parquet encoding, one format for every file the job writes (history snapshots and run
//! tables): zstd, deterministic bytes.
//!
//! Small tables are encoded in memory ([`parquet_bytes`]). Tables that grow with the tenant
//! and with history (the daily snapshots of a large tenant, the snapshot copies and per-day
//! tables of a run) are streamed through a [`ParquetSink`]: rows are appended in any number of
//! pieces and written out one row group at a time, so memory holds at most one row group.
//! For a table smaller than one row group both give the same bytes.

use crate::error::{Error, PolarsContext, Result};
use bytes::Bytes;
use polars::prelude::*;
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Rows per row group of a streamed table: small enough that a sink holds little (a group of
/// the widest dataset is a few tens of MB), large enough to compress and scan well. A table
/// with fewer rows is one group, byte-identical to `parquet_bytes` of the same rows.
pub const ROW_GROUP_ROWS: usize = 1 << 16;

/// Encode a frame as Parquet (zstd) bytes. Deterministic for identical frames.
pub fn parquet_bytes(df: &DataFrame) -> PolarsResult<Bytes> {
    let mut buf = Vec::new();
    let mut df = df.clone();
    writer(&mut buf).finish(&mut df)?;
    Ok(Bytes::from(buf))
}

fn writer<W: Write>(w: W) -> ParquetWriter<W> {
    ParquetWriter::new(w).with_compression(ParquetCompression::Zstd(None))
}

/// A Parquet file written to local disk one row group at a time, hashed as it is written.
pub struct ParquetSink {
    path: PathBuf,
    writer: polars::io::parquet::write::BatchedWriter<HashingWriter<BufWriter<File>>>,
    tally: Arc<Mutex<Tally>>,
    schema: Schema,
    pending: Vec<DataFrame>,
    pending_rows: usize,
    rows: usize,
}

/// A finished sink: where the file is, its SHA-256, size and rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenFile {
    pub path: PathBuf,
    pub sha256: String,
    pub bytes: u64,
    pub rows: usize,
}

impl ParquetSink {
    /// Create `path` for rows of `schema`.
    pub fn create(path: &Path, schema: &Schema) -> Result<ParquetSink> {
        let file = File::create(path)
            .map_err(|e| Error::publish(path.display().to_string(), e.to_string()))?;
        let hashing = HashingWriter::new(BufWriter::with_capacity(1 << 20, file));
        let tally = hashing.tally.clone();
        let writer = writer(hashing)
            .batched(schema)
            .ctx(format!("starting {}", path.display()))?;
        Ok(ParquetSink {
            path: path.to_path_buf(),
            writer,
            tally,
            schema: schema.clone(),
            pending: Vec::new(),
            pending_rows: 0,
            rows: 0,
        })
    }

    /// Append rows (the columns of `schema`, in its order). Full row groups are written now;
    /// fewer than `ROW_GROUP_ROWS` rows stay pending.
    pub fn push(&mut self, df: DataFrame) -> Result<()> {
        if df.height() == 0 {
            return Ok(());
        }
        let df = df
            .select(self.schema.iter_names().cloned())
            .ctx(format!("columns for {}", self.path.display()))?;
        self.rows += df.height();
        let mut offset = 0;
        while offset < df.height() {
            let take = (ROW_GROUP_ROWS - self.pending_rows).min(df.height() - offset);
            self.pending.push(df.slice(offset as i64, take));
            self.pending_rows += take;
            offset += take;
            if self.pending_rows == ROW_GROUP_ROWS {
                let group = self.take_pending()?;
                self.write_group(group)?;
            }
        }
        Ok(())
    }

    /// Write what is left as the last row group and the footer.
    pub fn finish(mut self) -> Result<WrittenFile> {
        if self.pending_rows > 0 {
            let all = self.take_pending()?;
            self.write_group(all)?;
        }
        let ctx = format!("finishing {}", self.path.display());
        self.writer.finish().ctx(ctx.clone())?;
        // Dropping the writer flushes the file buffer; the size on disk proves it was written.
        drop(self.writer);
        let (bytes, sha256) = Tally::take(&self.tally);
        let on_disk = std::fs::metadata(&self.path).map(|m| m.len());
        if on_disk.as_ref().ok() != Some(&bytes) {
            return Err(Error::publish(
                &ctx,
                format!("{bytes} bytes written but {on_disk:?} on disk"),
            ));
        }
        Ok(WrittenFile {
            path: self.path,
            sha256,
            bytes,
            rows: self.rows,
        })
    }

    fn take_pending(&mut self) -> Result<DataFrame> {
        let parts = std::mem::take(&mut self.pending);
        self.pending_rows = 0;
        let mut all =
            accumulate(parts).ctx(format!("stacking rows for {}", self.path.display()))?;
        all.rechunk_mut();
        Ok(all)
    }

    fn write_group(&mut self, mut group: DataFrame) -> Result<()> {
        group.rechunk_mut();
        self.writer
            .write_batch(&group)
            .ctx(format!("writing {}", self.path.display()))
    }
}

fn accumulate(parts: Vec<DataFrame>) -> PolarsResult<DataFrame> {
    let mut it = parts.into_iter();
    let mut acc = it.next().unwrap_or_default();
    for p in it {
        acc.vstack_mut(&p)?;
    }
    Ok(acc)
}

/// A writer that counts and hashes what passes through it, into a tally kept outside (the
/// Parquet writer owns the writer and never gives it back).
pub struct HashingWriter<W: Write> {
    inner: W,
    tally: Arc<Mutex<Tally>>,
}

#[derive(Default)]
struct Tally {
    hasher: Sha256,
    bytes: u64,
}

impl Tally {
    /// (bytes, SHA-256 hex) so far.
    fn take(tally: &Mutex<Tally>) -> (u64, String) {
        let mut t = tally.lock().unwrap_or_else(|e| e.into_inner());
        let hasher = std::mem::take(&mut t.hasher);
        (t.bytes, hex::encode(hasher.finalize()))
    }
}

impl<W: Write> HashingWriter<W> {
    pub fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            tally: Arc::default(),
        }
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        let mut t = self.tally.lock().unwrap_or_else(|e| e.into_inner());
        t.hasher.update(&buf[..n]);
        t.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(from: i64, n: i64) -> DataFrame {
        let ids: Vec<i64> = (from..from + n).collect();
        let names: Vec<String> = ids.iter().map(|i| format!("row-{}", i % 97)).collect();
        DataFrame::new_infer_height(vec![
            Column::new("id".into(), ids),
            Column::new("name".into(), names),
        ])
        .unwrap()
    }

    fn sink_bytes(parts: &[DataFrame]) -> (Vec<u8>, WrittenFile) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        let mut sink = ParquetSink::create(&path, frame(0, 1).schema()).unwrap();
        for p in parts {
            sink.push(p.clone()).unwrap();
        }
        let written = sink.finish().unwrap();
        (std::fs::read(&path).unwrap(), written)
    }

    #[test]
    fn a_table_streamed_in_pieces_is_byte_identical_to_one_encoded_whole() {
        let parts = [frame(0, 10), frame(10, 1), frame(11, 500)];
        let mut whole = parts[0].clone();
        for p in &parts[1..] {
            whole.vstack_mut(p).unwrap();
        }
        let (streamed, written) = sink_bytes(&parts);
        assert_eq!(streamed, parquet_bytes(&whole).unwrap().to_vec());
        assert_eq!(written.rows, 511);
        assert_eq!(written.bytes, streamed.len() as u64);
        assert_eq!(written.sha256, hex::encode(Sha256::digest(&streamed)));
    }

    #[test]
    fn an_empty_table_streams_to_the_same_bytes_as_an_empty_frame() {
        let (streamed, written) = sink_bytes(&[]);
        assert_eq!(streamed, parquet_bytes(&frame(0, 0)).unwrap().to_vec());
        assert_eq!(written.rows, 0);
    }

    #[test]
    fn large_tables_are_written_in_row_groups_of_the_default_size() {
        let n = ROW_GROUP_ROWS as i64 + 1000;
        let (streamed, written) = sink_bytes(&[frame(0, n / 2), frame(n / 2, n - n / 2)]);
        assert_eq!(written.rows, n as usize);
        let back = ParquetReader::new(std::io::Cursor::new(streamed))
            .finish()
            .unwrap();
        assert_eq!(back.height(), n as usize);
        assert_eq!(
            back.column("id")
                .unwrap()
                .i64()
                .unwrap()
                .get(n as usize - 1),
            Some(n - 1)
        );
    }
}
