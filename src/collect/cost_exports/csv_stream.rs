//! Streaming CSV: a background thread reads (and for `.gz`, decompresses) an export file into
//! bounded blocks while the caller tokenises the previous ones, so a 20 GB file costs a few
//! megabytes of memory and the two cores overlap inflate and parse.
//!
//! polars reads a compressed CSV by inflating the whole file into memory first, which does not
//! fit a tens-of-GB export; hence this reader. Records may span blocks: the tokeniser
//! (`csv-core`) keeps its state from one block to the next.

use std::io::{BufReader, Read};
use std::sync::mpsc::{Receiver, Sender, channel, sync_channel};

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
            let mut source: Box<dyn Read> = if gzip {
                Box::new(flate2::bufread::MultiGzDecoder::new(
                    BufReader::with_capacity(1 << 20, reader),
                ))
            } else {
                reader
            };
            let mut newlines = 0u64;
            loop {
                let mut buf = spare.try_recv().unwrap_or_default();
                buf.resize(BLOCK, 0);
                let mut filled = 0;
                while filled < BLOCK {
                    match source.read(&mut buf[filled..]) {
                        Ok(0) => break,
                        Ok(n) => filled += n,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(e) => {
                            // Corrupt or cut-short compressed data, as opposed to the source
                            // failing underneath (network, disk).
                            let bad_data = matches!(
                                e.kind(),
                                std::io::ErrorKind::InvalidInput
                                    | std::io::ErrorKind::InvalidData
                                    | std::io::ErrorKind::UnexpectedEof
                            );
                            let failure = if gzip && bad_data {
                                ReadFailure::Gzip(e)
                            } else {
                                ReadFailure::Io(e)
                            };
                            let _ = tx.send(Err(failure));
                            return;
                        }
                    }
                }
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
        })
        .expect("spawning a thread");
    Blocks {
        blocks: rx,
        recycle,
    }
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
/// seen, or the read failure.
pub fn for_each_record(
    source: Blocks,
    mut on_record: impl FnMut(u64, &Fields) -> Next,
    mut on_bad: impl FnMut(u64, RawRecord, String) -> bool,
) -> Result<u64, ReadFailure> {
    let mut reader = csv_core::Reader::new();
    let mut out = vec![0u8; 1 << 16];
    let mut ends = vec![0usize; 512];
    let (mut out_len, mut ends_len) = (0usize, 0usize);
    let mut record = 0u64;
    // The start of a record that began in an earlier block, and its line.
    let mut carried: Vec<u8> = Vec::new();
    let mut carried_line: Option<u64> = None;
    let mut finished = false;
    let mut stop = false;
    let Blocks { blocks, recycle } = source;
    let mut blocks = blocks.into_iter();
    while !finished && !stop {
        let (block, eof) = match blocks.next() {
            Some(Ok(b)) => {
                let end = b.end;
                (b, end)
            }
            Some(Err(e)) => return Err(e),
            None => {
                return Err(ReadFailure::Io(std::io::Error::other(
                    "the reading thread stopped before the end of the file",
                )));
            }
        };
        let bytes = &block.bytes[..];
        let mut offset = 0usize;
        let mut record_start = 0usize;
        // Line counting is lazy (only bad rows need it) and moves forward only.
        let mut cursor = (0usize, block.newlines_before);
        loop {
            // Empty input means end of file to the tokeniser: only give it that at the end.
            if !eof && offset == bytes.len() {
                break;
            }
            let (res, nin, nout, nend) =
                reader.read_record(&bytes[offset..], &mut out[out_len..], &mut ends[ends_len..]);
            offset += nin;
            out_len += nout;
            ends_len += nend;
            match res {
                csv_core::ReadRecordResult::InputEmpty => {
                    if eof {
                        // read_record with empty input ends the last record; keep looping.
                        if nin == 0 && nout == 0 && nend == 0 {
                            finished = true;
                            break;
                        }
                        continue;
                    }
                    if carried_line.is_none() && record_start < bytes.len() {
                        carried_line = Some(line_at(bytes, record_start, &mut cursor));
                    }
                    carried.extend_from_slice(&bytes[record_start..]);
                    break;
                }
                csv_core::ReadRecordResult::OutputFull => {
                    out.resize(out.len() * 2, 0);
                }
                csv_core::ReadRecordResult::OutputEndsFull => {
                    ends.resize(ends.len() * 2, 0);
                }
                csv_core::ReadRecordResult::Record => {
                    let fields = Fields {
                        data: &out[..out_len],
                        ends: &ends[..ends_len],
                    };
                    match on_record(record, &fields) {
                        Next::Continue => {}
                        Next::Stop => {
                            stop = true;
                            break;
                        }
                        Next::Bad(reason) => {
                            let line = match carried_line {
                                Some(l) => l,
                                None => line_at(bytes, record_start, &mut cursor),
                            };
                            let mut raw = std::mem::take(&mut carried);
                            raw.extend_from_slice(&bytes[record_start..offset]);
                            if !on_bad(record, raw_record(&raw, line), reason) {
                                record += 1;
                                stop = true;
                                break;
                            }
                        }
                    }
                    record += 1;
                    out_len = 0;
                    ends_len = 0;
                    record_start = offset;
                    carried.clear();
                    carried_line = None;
                }
                csv_core::ReadRecordResult::End => {
                    finished = true;
                    break;
                }
            }
        }
        let _ = recycle.send(block.bytes);
    }
    Ok(record)
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
