//! Streaming CSV: a background thread reads (and for `.gz`, decompresses) an export file into
//! bounded blocks while the caller tokenises the previous ones, so a 20 GB file costs a few
//! megabytes of memory and the two cores overlap inflate and parse.
//!
//! polars reads a compressed CSV by inflating the whole file into memory first, which does not
//! fit a tens-of-GB export; hence this reader. Records may span blocks: the tokeniser
//! (`csv-core`) keeps its state from one block to the next.

use std::io::{BufReader, Read};
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};

/// Decompressed bytes handed over at a time.
const BLOCK: usize = 4 << 20;
/// Blocks in flight between the reader thread and the parser.
const IN_FLIGHT: usize = 4;

/// One block of the (decompressed) file.
pub struct Block {
    pub bytes: Vec<u8>,
    /// Newline characters in the file before this block (so line numbers are exact).
    pub newlines_before: u64,
    /// The end of the file (an empty block sent last), so a reader that stopped for any
    /// other reason is never taken for a complete file.
    pub end: bool,
}

/// Why reading stopped early.
#[derive(Debug)]
pub enum ReadFailure {
    /// The gzip stream ended early or is corrupt (the file is at fault).
    Gzip(std::io::Error),
    /// Reading failed underneath (the network or the disk is at fault).
    Io(std::io::Error),
    /// A record over one of the `limits` (the file is at fault).
    TooLarge(Oversize),
}

/// Blocks from the reader thread, and the way back for their buffers (reused, so the reader
/// does not fault in fresh memory for every block).
pub struct Blocks {
    pub blocks: Receiver<Result<Block, ReadFailure>>,
    pub recycle: Sender<Vec<u8>>,
}

/// Read `reader` on a background thread; blocks arrive in order, the last one marked `end`
/// (or a `ReadFailure` arrives instead). Dropping the receiver stops the thread.
pub fn blocks(reader: Box<dyn Read + Send>, gzip: bool) -> Blocks {
    let (tx, rx) = sync_channel(IN_FLIGHT);
    let (recycle, spare) = channel::<Vec<u8>>();
    std::thread::Builder::new()
        .name("cost-export-reader".into())
        .spawn(move || {
            let source: Box<dyn Read> = if gzip {
                Box::new(flate2::bufread::MultiGzDecoder::new(
                    BufReader::with_capacity(1 << 20, reader),
                ))
            } else {
                reader
            };
            send_blocks(source, gzip, &tx, &spare);
        })
        .expect("spawning a thread");
    Blocks {
        blocks: rx,
        recycle,
    }
}

/// The reader thread: fill blocks (reusing returned buffers) and send them until the end of
/// the file, a failure, or a receiver that no longer listens.
fn send_blocks(
    mut source: Box<dyn Read>,
    gzip: bool,
    tx: &SyncSender<Result<Block, ReadFailure>>,
    spare: &Receiver<Vec<u8>>,
) {
    let mut newlines = 0u64;
    loop {
        let mut buf = spare.try_recv().unwrap_or_default();
        buf.resize(BLOCK, 0);
        let filled = match fill(source.as_mut(), &mut buf, gzip) {
            Ok(n) => n,
            Err(failure) => {
                let _ = tx.send(Err(failure));
                return;
            }
        };
        if filled == 0 {
            let _ = tx.send(Ok(Block {
                bytes: Vec::new(),
                newlines_before: newlines,
                end: true,
            }));
            return;
        }
        buf.truncate(filled);
        let here = memchr::memchr_iter(b'\n', &buf).count() as u64;
        let block = Block {
            bytes: buf,
            newlines_before: newlines,
            end: false,
        };
        newlines += here;
        if tx.send(Ok(block)).is_err() {
            return;
        }
    }
}

/// Read until `buf` is full or the file ends; the bytes read.
fn fill(source: &mut dyn Read, buf: &mut [u8], gzip: bool) -> Result<usize, ReadFailure> {
    let mut filled = 0;
    while filled < buf.len() {
        match source.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                // Corrupt or cut-short compressed data, as opposed to the source failing
                // underneath (network, disk).
                let bad_data = matches!(
                    e.kind(),
                    std::io::ErrorKind::InvalidInput
                        | std::io::ErrorKind::InvalidData
                        | std::io::ErrorKind::UnexpectedEof
                );
                return Err(if gzip && bad_data {
                    ReadFailure::Gzip(e)
                } else {
                    ReadFailure::Io(e)
                });
            }
        }
    }
    Ok(filled)
}

/// Where a record starts, for messages: 1-based line, and its raw text (up to 4 KiB).
pub struct RawRecord {
    pub line: u64,
    pub text: String,
}

/// Fields of one record (unquoted), indexed by header position.
pub struct Fields<'a> {
    data: &'a [u8],
    ends: &'a [usize],
}

impl<'a> Fields<'a> {
    pub fn len(&self) -> usize {
        self.ends.len()
    }
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
    pub fn get(&self, i: usize) -> &'a [u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.data[start..self.ends[i]]
    }
}

/// What the record callback tells the tokeniser.
pub enum Next {
    Continue,
    /// The record is bad, for this reason: hand its line and raw text to `on_bad`.
    Bad(String),
    /// Stop reading.
    Stop,
}

/// Tokenise blocks record by record. `on_record(index, fields)` is called for every record
/// (index 0 is the header); when it answers `Next::Bad`, `on_bad(index, raw, reason)` gets
/// the record's line and text, and answers whether to go on. Returns the number of records
/// seen, or the read failure (a record over a `limits` bound is one: it stops the read).
pub fn for_each_record(
    source: Blocks,
    mut on_record: impl FnMut(u64, &Fields) -> Next,
    mut on_bad: impl FnMut(u64, RawRecord, String) -> bool,
) -> Result<u64, ReadFailure> {
    let mut tokens = Tokenizer::new();
    let Blocks { blocks, recycle } = source;
    let mut blocks = blocks.into_iter();
    loop {
        let block = match blocks.next() {
            Some(Ok(b)) => b,
            Some(Err(e)) => return Err(e),
            None => {
                return Err(ReadFailure::Io(std::io::Error::other(
                    "the reading thread stopped before the end of the file",
                )));
            }
        };
        let step = tokens.feed(&block, &mut on_record, &mut on_bad)?;
        let _ = recycle.send(block.bytes);
        if step == Step::Finished {
            return Ok(tokens.record);
        }
    }
}

/// Bounds on one record, so no cell can make time or memory grow without limit: a cell,
/// a record and the fields of a record. A record over any of them stops the read with its
/// line and field (`ReadFailure::TooLarge`). Cost Management cells are far below them: a
/// resource id is at most a few hundred bytes, a tags cell of 50 tags at most about 40 KiB.
pub mod limits {
    /// Bytes in one cell (after unquoting).
    pub const CELL_BYTES: usize = 64 << 10;
    /// Bytes in one record (all its cells).
    pub const RECORD_BYTES: usize = 1 << 20;
    /// Fields in one record.
    pub const FIELDS: usize = 4096;
}

/// A record over one of the `limits`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Oversize {
    /// 1-based line where the record starts.
    pub line: u64,
    /// 0-based field the limit was reached in.
    pub field: usize,
    pub limit: Limit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    Cell,
    Record,
    Fields,
}

impl std::fmt::Display for Oversize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.limit {
            Limit::Cell => write!(
                f,
                "a cell longer than {} bytes (the per-cell limit)",
                limits::CELL_BYTES
            ),
            Limit::Record => write!(
                f,
                "a row longer than {} bytes (the per-row limit)",
                limits::RECORD_BYTES
            ),
            Limit::Fields => write!(
                f,
                "a row of more than {} fields (the per-row limit)",
                limits::FIELDS
            ),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// The block is used up: give the next one.
    MoreInput,
    /// The end of the file, or the callbacks asked to stop.
    Finished,
}

/// The tokeniser's state across blocks: `csv-core` and the current record's output.
struct Tokenizer {
    reader: csv_core::Reader,
    out: Vec<u8>,
    ends: Vec<usize>,
    out_len: usize,
    ends_len: usize,
    /// Records delivered so far (the index of the next one).
    record: u64,
    /// The start of a record that began in an earlier block, and its line.
    carried: Vec<u8>,
    carried_line: Option<u64>,
}

/// Where the tokeniser is in one block.
struct InBlock<'b> {
    bytes: &'b [u8],
    eof: bool,
    offset: usize,
    record_start: usize,
    /// Line counting is lazy (only bad rows need it) and moves forward only.
    cursor: (usize, u64),
}

impl InBlock<'_> {
    fn line_of_record(&mut self, carried_line: Option<u64>) -> u64 {
        match carried_line {
            Some(l) => l,
            None => line_at(self.bytes, self.record_start, &mut self.cursor),
        }
    }
}

impl Tokenizer {
    fn new() -> Tokenizer {
        Tokenizer {
            reader: csv_core::Reader::new(),
            out: vec![0u8; 1 << 16],
            ends: vec![0usize; 512],
            out_len: 0,
            ends_len: 0,
            record: 0,
            carried: Vec::new(),
            carried_line: None,
        }
    }

    /// Tokenise one block, calling back for each complete record.
    fn feed(
        &mut self,
        block: &Block,
        on_record: &mut impl FnMut(u64, &Fields) -> Next,
        on_bad: &mut impl FnMut(u64, RawRecord, String) -> bool,
    ) -> Result<Step, ReadFailure> {
        let mut at = InBlock {
            bytes: &block.bytes,
            eof: block.end,
            offset: 0,
            record_start: 0,
            cursor: (0, block.newlines_before),
        };
        loop {
            // Empty input means end of file to the tokeniser: only give it that at the end.
            if !at.eof && at.offset == at.bytes.len() {
                return Ok(Step::MoreInput);
            }
            let (res, nin, nout, nend) = self.reader.read_record(
                &at.bytes[at.offset..],
                &mut self.out[self.out_len..],
                &mut self.ends[self.ends_len..],
            );
            at.offset += nin;
            self.out_len += nout;
            self.ends_len += nend;
            match res {
                csv_core::ReadRecordResult::InputEmpty if at.eof => {
                    // read_record with empty input ends the last record; keep looping.
                    if nin == 0 && nout == 0 && nend == 0 {
                        return Ok(Step::Finished);
                    }
                }
                csv_core::ReadRecordResult::InputEmpty => {
                    self.carry_rest(&mut at)?;
                    return Ok(Step::MoreInput);
                }
                csv_core::ReadRecordResult::OutputFull => self.grow_output(&mut at)?,
                csv_core::ReadRecordResult::OutputEndsFull => self.grow_ends(&mut at)?,
                csv_core::ReadRecordResult::Record => {
                    self.check_cells(&mut at)?;
                    if !self.deliver(&mut at, on_record, on_bad) {
                        return Ok(Step::Finished);
                    }
                }
                csv_core::ReadRecordResult::End => return Ok(Step::Finished),
            }
        }
    }

    /// Keep the unfinished record's bytes (and its line) for the next block.
    fn carry_rest(&mut self, at: &mut InBlock) -> Result<(), ReadFailure> {
        if self.carried_line.is_none() && at.record_start < at.bytes.len() {
            self.carried_line = Some(line_at(at.bytes, at.record_start, &mut at.cursor));
        }
        self.carried.extend_from_slice(&at.bytes[at.record_start..]);
        // The raw text of one record is bounded like its cells (quotes at most double it).
        if self.carried.len() > 2 * limits::RECORD_BYTES + limits::FIELDS {
            return Err(self.too_large(at, Limit::Record));
        }
        Ok(())
    }

    fn too_large(&self, at: &mut InBlock, limit: Limit) -> ReadFailure {
        ReadFailure::TooLarge(Oversize {
            line: at.line_of_record(self.carried_line),
            field: self.ends_len,
            limit,
        })
    }

    /// The output is full: a cell or the record has reached its limit, or the buffer doubles.
    fn grow_output(&mut self, at: &mut InBlock) -> Result<(), ReadFailure> {
        let cell_start = self.ends_len.checked_sub(1).map_or(0, |i| self.ends[i]);
        if self.out_len - cell_start > limits::CELL_BYTES {
            return Err(self.too_large(at, Limit::Cell));
        }
        if self.out.len() >= limits::RECORD_BYTES {
            return Err(self.too_large(at, Limit::Record));
        }
        self.out.resize(self.out.len() * 2, 0);
        Ok(())
    }

    fn grow_ends(&mut self, at: &mut InBlock) -> Result<(), ReadFailure> {
        if self.ends.len() >= limits::FIELDS {
            return Err(self.too_large(at, Limit::Fields));
        }
        self.ends.resize(self.ends.len() * 2, 0);
        Ok(())
    }

    /// A complete record's cells against the cell limit (only when the record as a whole is
    /// longer than one cell may be, so common rows cost one comparison).
    fn check_cells(&self, at: &mut InBlock) -> Result<(), ReadFailure> {
        if self.out_len <= limits::CELL_BYTES {
            return Ok(());
        }
        let mut start = 0;
        for (i, &end) in self.ends[..self.ends_len].iter().enumerate() {
            if end - start > limits::CELL_BYTES {
                return Err(ReadFailure::TooLarge(Oversize {
                    line: at.line_of_record(self.carried_line),
                    field: i,
                    limit: Limit::Cell,
                }));
            }
            start = end;
        }
        Ok(())
    }

    /// Hand a complete record to the callbacks and start the next; false to stop reading.
    fn deliver(
        &mut self,
        at: &mut InBlock,
        on_record: &mut impl FnMut(u64, &Fields) -> Next,
        on_bad: &mut impl FnMut(u64, RawRecord, String) -> bool,
    ) -> bool {
        let fields = Fields {
            data: &self.out[..self.out_len],
            ends: &self.ends[..self.ends_len],
        };
        // A record the callback stops at is not counted; a bad one is, even when it stops.
        let (counted, go_on) = match on_record(self.record, &fields) {
            Next::Continue => (true, true),
            Next::Stop => (false, false),
            Next::Bad(reason) => {
                let line = at.line_of_record(self.carried_line);
                let mut raw = std::mem::take(&mut self.carried);
                raw.extend_from_slice(&at.bytes[at.record_start..at.offset]);
                (true, on_bad(self.record, raw_record(&raw, line), reason))
            }
        };
        if counted {
            self.record += 1;
        }
        self.out_len = 0;
        self.ends_len = 0;
        at.record_start = at.offset;
        self.carried.clear();
        self.carried_line = None;
        go_on
    }
}

/// 1-based line of the byte at `pos`, counting forward from `cursor` (pos, newlines before).
fn line_at(bytes: &[u8], pos: usize, cursor: &mut (usize, u64)) -> u64 {
    if pos >= cursor.0 {
        cursor.1 += memchr::memchr_iter(b'\n', &bytes[cursor.0..pos]).count() as u64;
        cursor.0 = pos;
    }
    cursor.1 + 1
}

/// A record's raw text and line. The tokeniser may leave the '\n' of a CRLF pair at the
/// start of the next record: skip leading line ends, counting them as lines.
fn raw_record(raw: &[u8], line: u64) -> RawRecord {
    let skipped = raw
        .iter()
        .take_while(|b| **b == b'\r' || **b == b'\n')
        .count();
    let newlines = raw[..skipped].iter().filter(|b| **b == b'\n').count() as u64;
    let body = &raw[skipped..];
    let body = &body[..body.len().min(4096)];
    RawRecord {
        line: line + newlines,
        text: String::from_utf8_lossy(body)
            .trim_end_matches(['\r', '\n'])
            .to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(text: &'static [u8], block: usize) -> Vec<(u64, Vec<String>, Option<u64>)> {
        let (tx, rx) = sync_channel(64);
        let mut newlines = 0;
        for part in text.chunks(block) {
            tx.send(Ok(Block {
                bytes: part.to_vec(),
                newlines_before: newlines,
                end: false,
            }))
            .unwrap();
            newlines += part.iter().filter(|b| **b == b'\n').count() as u64;
        }
        tx.send(Ok(Block {
            bytes: Vec::new(),
            newlines_before: newlines,
            end: true,
        }))
        .unwrap();
        drop(tx);
        let (recycle, _spare) = channel();
        let rx = Blocks {
            blocks: rx,
            recycle,
        };
        let mut got = Vec::new();
        let mut lines = Vec::new();
        for_each_record(
            rx,
            |i, f| {
                let fields = (0..f.len())
                    .map(|k| String::from_utf8_lossy(f.get(k)).into_owned())
                    .collect();
                got.push((i, fields, None));
                if f.len() != 2 {
                    Next::Bad("fields".into())
                } else {
                    Next::Continue
                }
            },
            |i, raw, _| {
                lines.push((i, raw.line, raw.text));
                true
            },
        )
        .unwrap();
        for (i, line, _) in &lines {
            got[*i as usize].2 = Some(*line);
        }
        got
    }

    #[test]
    fn records_span_blocks_and_bad_rows_keep_their_lines() {
        let text: &[u8] = b"a,b\r\n1,\"x\r\ny\"\r\n2,3,4\r\n5,6";
        for block in [1, 2, 3, 5, 7, 64] {
            let got = records(text, block);
            assert_eq!(got.len(), 4, "block {block}: {got:?}");
            assert_eq!(got[1].1, ["1", "x\r\ny"], "block {block}");
            // The three-field row starts on line 4 (the quoted field holds a line break).
            assert_eq!(got[2].2, Some(4), "block {block}");
            assert_eq!(got[3].1, ["5", "6"], "block {block}");
        }
    }

    #[test]
    fn blank_lines_are_not_records() {
        let (tx, rx) = sync_channel(4);
        tx.send(Ok(Block {
            bytes: b"a,b\r\n1,2\r\n\r\n\n3,4\n\n".to_vec(),
            newlines_before: 0,
            end: false,
        }))
        .unwrap();
        tx.send(Ok(Block {
            bytes: Vec::new(),
            newlines_before: 6,
            end: true,
        }))
        .unwrap();
        let (recycle, _spare) = channel();
        let mut seen = Vec::new();
        let n = for_each_record(
            Blocks {
                blocks: rx,
                recycle,
            },
            |_, f| {
                seen.push(f.len());
                Next::Continue
            },
            |_, _, _| true,
        )
        .unwrap();
        assert_eq!((n, seen), (3, vec![2, 2, 2]));
    }
}
