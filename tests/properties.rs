//! Bounded property tests (proptest, a few hundred cases each, seconds in all) for the three
//! parsers that read bytes from outside: the CSV tokeniser of cost exports, the tags-cell
//! parser and the Resource Graph page parser. Whatever the input, they answer (records, a
//! map, a page or an error) and never panic; valid input reads back exactly, whatever the
//! block boundaries.

use defender_ledger::collect::cost_exports::csv_stream::{
    self, Block, Blocks, Next, ReadFailure, limits,
};
use defender_ledger::model::page::parse_page;
use defender_ledger::tags::parse_tags;
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use std::sync::mpsc::{channel, sync_channel};

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        // Shrinking stays bounded too.
        max_shrink_iters: 512,
        ..ProptestConfig::default()
    }
}

/// `bytes` as the reader thread would send them: blocks of at most `block` bytes with their
/// newline counts, then the end marker.
fn blocks_of(bytes: &[u8], block: usize) -> Blocks {
    let parts: Vec<&[u8]> = bytes.chunks(block.max(1)).collect();
    let (tx, rx) = sync_channel(parts.len() + 1);
    let mut newlines = 0u64;
    for part in parts {
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
    let (recycle, _spare) = channel();
    Blocks {
        blocks: rx,
        recycle,
    }
}

/// Every record's fields, and the line of every record (each one is reported as bad so the
/// tokeniser computes its line), or the read failure.
type Read = Result<(Vec<Vec<Vec<u8>>>, Vec<u64>), String>;

fn tokenise(bytes: &[u8], block: usize) -> Read {
    let mut records = Vec::new();
    let mut lines = Vec::new();
    let n = csv_stream::for_each_record(
        blocks_of(bytes, block),
        |_, f| {
            records.push((0..f.len()).map(|i| f.get(i).to_vec()).collect());
            Next::Bad(String::new())
        },
        |_, raw, _| {
            lines.push(raw.line);
            true
        },
    );
    match n {
        Ok(n) => {
            assert_eq!(n as usize, records.len());
            Ok((records, lines))
        }
        Err(ReadFailure::TooLarge(o)) => Err(format!("too large: {o}")),
        Err(ReadFailure::Gzip(e) | ReadFailure::Io(e)) => Err(e.to_string()),
    }
}

/// One field written as RFC 4180 does: quoted when it holds a comma, quote, CR or LF.
fn quote(field: &str) -> String {
    if field.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

fn field() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 ._/-]{0,12}",
        "[a-z,\"\r\n ]{0,8}",
        any::<String>().prop_map(|s| s.chars().take(10).collect()),
    ]
}

proptest! {
    #![proptest_config(config())]

    /// RFC 4180 records read back field for field, with the line each starts on, whatever
    /// the block size and line ending.
    #[test]
    fn csv_records_read_back_exactly_across_blocks(
        records in prop::collection::vec(prop::collection::vec(field(), 2..6), 0..12),
        crlf in any::<bool>(),
        block in 1usize..64,
    ) {
        let eol = if crlf { "\r\n" } else { "\n" };
        let mut text = String::new();
        let mut starts = Vec::new();
        for r in &records {
            starts.push(text.matches('\n').count() as u64 + 1);
            let line: Vec<String> = r.iter().map(|f| quote(f)).collect();
            text.push_str(&line.join(","));
            text.push_str(eol);
        }
        let (got, lines) = tokenise(text.as_bytes(), block).unwrap();
        let want: Vec<Vec<Vec<u8>>> = records
            .iter()
            .map(|r| r.iter().map(|f| f.as_bytes().to_vec()).collect())
            .collect();
        prop_assert_eq!(got, want);
        prop_assert_eq!(lines, starts);
    }

    /// Any bytes: an answer, never a panic, and the same answer for every block size.
    #[test]
    fn csv_arbitrary_bytes_give_the_same_answer_in_any_blocks(
        bytes in prop::collection::vec(
            prop_oneof![Just(b','), Just(b'"'), Just(b'\r'), Just(b'\n'), any::<u8>()],
            0..400,
        ),
        block in 1usize..50,
    ) {
        let whole = tokenise(&bytes, bytes.len().max(1));
        prop_assert_eq!(tokenise(&bytes, block), whole);
    }

    /// A cell over the limit stops the read with its line and field, at once.
    #[test]
    fn csv_a_cell_over_the_limit_is_named(
        before in 0usize..3,
        quoted in any::<bool>(),
        block in prop_oneof![Just(1usize << 12), Just(1usize << 16), Just(4usize << 20)],
    ) {
        let mut text = String::from("a,b\n");
        for _ in 0..before {
            text.push_str("1,2\n");
        }
        let big = "x".repeat(limits::CELL_BYTES + 1);
        text.push_str(&if quoted { format!("1,\"{big}\"\n") } else { format!("1,{big}\n") });
        let started = std::time::Instant::now();
        let e = tokenise(text.as_bytes(), block).unwrap_err();
        prop_assert!(e.contains("per-cell limit"), "{}", e);
        prop_assert!(started.elapsed().as_secs() < 5);
    }

    /// Tags cells: any text gives a map (possibly empty) without panicking; a JSON object of
    /// string values reads back, with or without its braces (the actual/amortized form).
    #[test]
    fn tags_cells_parse_or_give_nothing(
        cell in any::<String>(),
        tags in prop::collection::btree_map("[a-zA-Z0-9 _.:-]{1,12}", any::<String>(), 0..6),
    ) {
        let _ = parse_tags(Some(&cell));
        let object: Map<String, Value> =
            tags.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
        let text = Value::Object(object.clone()).to_string();
        prop_assert_eq!(&parse_tags(Some(&text)), &object);
        let braceless = &text[1..text.len() - 1];
        prop_assert_eq!(&parse_tags(Some(braceless)), &object);
    }

    /// Resource Graph pages: any bytes give a page or an error; a page of rows reads back the
    /// same in the object-array and the table format, with its token and truncation flag.
    #[test]
    fn resource_graph_pages_parse_or_say_why(
        junk in prop::collection::vec(any::<u8>(), 0..200),
        rows in prop::collection::vec(
            prop::collection::vec(prop_oneof![
                any::<i64>().prop_map(Value::from),
                "[a-z0-9/ -]{0,10}".prop_map(Value::from),
                Just(Value::Null),
                any::<bool>().prop_map(Value::from),
            ], 3),
            0..8,
        ),
        truncated in any::<bool>(),
        token in prop::option::of("[a-zA-Z0-9+/=]{1,16}"),
    ) {
        let _ = parse_page(&junk);
        let columns = ["id", "name", "value"];
        let objects: Vec<Value> = rows
            .iter()
            .map(|r| Value::Object(columns.iter().map(|c| c.to_string()).zip(r.iter().cloned()).collect()))
            .collect();
        let mut body = json!({
            "totalRecords": rows.len() + 5,
            "count": rows.len(),
            "data": objects,
            "resultTruncated": if truncated { "true" } else { "false" },
        });
        if let Some(t) = &token {
            body["$skipToken"] = json!(t);
        }
        let page = parse_page(body.to_string().as_bytes()).unwrap();
        prop_assert_eq!(&page.rows, &objects);
        prop_assert_eq!(page.result_truncated, truncated);
        prop_assert_eq!(page.skip_token.as_deref(), token.as_deref());
        body["data"] = json!({
            "columns": columns.iter().map(|c| json!({"name": c, "type": "string"})).collect::<Vec<_>>(),
            "rows": rows,
        });
        let table = parse_page(body.to_string().as_bytes()).unwrap();
        prop_assert_eq!(&table.rows, &objects);
        // A count that disagrees with the rows is an error, never a short page.
        body["count"] = json!(rows.len() + 1);
        prop_assert!(parse_page(body.to_string().as_bytes()).is_err());
    }
}
