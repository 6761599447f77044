//! CSV for finance and auditors: RFC 4180, comma, UTF-8, header row, ISO 8601 dates, `.`
//! decimal point, no thousands separator. Quoting is the `csv` crate's (a field with a comma,
//! quote or newline is quoted; quotes doubled), so values with `,` `;` `"` or newlines survive
//! Excel and warehouse imports. With `output.csv_bom` the bytes start with a UTF-8 byte-order
//! mark (EF BB BF) so Excel opened by double-click reads them as UTF-8.

use crate::error::{Error, PolarsContext, Result};
use crate::frame::ns_to_iso;
use polars::prelude::*;

/// How to print a table: which float columns are money (exactly 2 decimals; the caller has
/// already rounded them so each column sums to its rounded total), which other float columns
/// have a fixed number of decimals (the data dictionary's precision; the caller has already
/// rounded them), and whether the bytes start with a UTF-8 byte-order mark.
#[derive(Debug, Clone, Copy, Default)]
pub struct CsvSpec<'a> {
    pub amount_columns: &'a [&'a str],
    /// Float columns printed with exactly this many decimals, e.g. `("ratio", 4)`.
    pub fixed_decimals: &'a [(&'a str, u32)],
    /// Start with EF BB BF (`output.csv_bom`).
    pub bom: bool,
}

/// The UTF-8 byte-order mark `output.csv_bom` puts before a CSV.
pub const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// How one float column is printed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum FloatStyle {
    /// Money: exactly two decimals.
    Amount,
    /// Exactly this many decimals.
    Fixed(u32),
    /// The shortest text that reads back to the same value.
    Shortest,
}

impl CsvSpec<'_> {
    pub(crate) fn float_style(&self, column: &str) -> FloatStyle {
        if self.amount_columns.contains(&column) {
            FloatStyle::Amount
        } else if let Some((_, d)) = self.fixed_decimals.iter().find(|(c, _)| *c == column) {
            FloatStyle::Fixed(*d)
        } else {
            FloatStyle::Shortest
        }
    }
}

pub fn to_csv(df: &DataFrame, spec: CsvSpec) -> Result<Vec<u8>> {
    let mut w = ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::CRLF)
        .from_writer(if spec.bom {
            UTF8_BOM.to_vec()
        } else {
            Vec::new()
        });
    let names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    w.write_record(&names)
        .map_err(|e| Error::input_err("csv", e))?;
    let cells: Vec<Vec<String>> = df
        .columns()
        .iter()
        .map(|c| column_cells(c, spec.float_style(c.name().as_str())))
        .collect::<Result<_>>()?;
    for row in 0..df.height() {
        w.write_record(cells.iter().map(|c| c[row].as_str()))
            .map_err(|e| Error::input_err("csv", e))?;
    }
    w.into_inner()
        .map_err(|e| Error::input("csv", e.to_string()))
}

/// `bytes` with the UTF-8 byte-order mark in front when `bom` is set (for CSVs not written by
/// [`to_csv`], such as the data dictionary).
pub fn with_bom(bytes: Vec<u8>, bom: bool) -> Vec<u8> {
    if bom {
        [UTF8_BOM, bytes.as_slice()].concat()
    } else {
        bytes
    }
}

/// The text of every cell of a column as the CSV prints it (empty for null). The workbook
/// reads its numbers back from this text, so a workbook cell and its CSV field agree exactly.
pub(crate) fn column_cells(c: &Column, style: FloatStyle) -> Result<Vec<String>> {
    let name = c.name().to_string();
    Ok(match c.dtype() {
        DataType::String => c
            .str()
            .ctx(&name)?
            .iter()
            .map(|v| v.unwrap_or_default().to_string())
            .collect(),
        DataType::Boolean => c
            .bool()
            .ctx(&name)?
            .iter()
            .map(|v| v.map(|b| b.to_string()).unwrap_or_default())
            .collect(),
        DataType::Date => c
            .date()
            .ctx(&name)?
            .as_date_iter()
            .map(|v| v.map(|d| d.to_string()).unwrap_or_default())
            .collect(),
        DataType::Datetime(_, _) => {
            let c = c
                .cast(&DataType::Datetime(TimeUnit::Nanoseconds, None))
                .ctx(&name)?;
            c.datetime()
                .ctx(&name)?
                .phys
                .iter()
                .map(|v| v.map(ns_to_iso).unwrap_or_default())
                .collect()
        }
        DataType::Float32 | DataType::Float64 => {
            let c = c.cast(&DataType::Float64).ctx(&name)?;
            c.f64()
                .ctx(&name)?
                .iter()
                .map(|v| match (v, style) {
                    (None, _) => String::new(),
                    (Some(x), FloatStyle::Amount) => format_amount(x),
                    (Some(x), FloatStyle::Fixed(d)) => format_fixed(x, d),
                    (Some(x), FloatStyle::Shortest) => format_number(x),
                })
                .collect()
        }
        dt if dt.is_integer() => {
            let c = c.cast(&DataType::Int64).ctx(&name)?;
            c.i64()
                .ctx(&name)?
                .iter()
                .map(|v| v.map(|x| x.to_string()).unwrap_or_default())
                .collect()
        }
        other => {
            return Err(Error::input(
                "csv",
                format!("column {name}: cannot print type {other}"),
            ));
        }
    })
}

/// Money: exactly two decimals, `-0.00` printed as `0.00`.
pub fn format_amount(x: f64) -> String {
    format_fixed(x, 2)
}

/// Exactly `decimals` decimals, a negative zero (`-0.00`) printed without its sign.
pub fn format_fixed(x: f64, decimals: u32) -> String {
    let s = format!("{x:.*}", decimals as usize);
    match s.strip_prefix('-') {
        Some(rest) if rest.bytes().all(|b| b == b'0' || b == b'.') => rest.to_string(),
        _ => s,
    }
}

/// Other numbers: the shortest text that reads back to the same value, never exponent form.
pub fn format_number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{x:.1}")
    } else {
        format!("{x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_commas_semicolons_quotes_and_newlines() {
        let df = df!(
            "owner" => ["team, a", "b;c", "say \"hi\"", "multi\nline"],
            "currency" => ["USD", "USD", "EUR", "USD"],
            "amount" => [1.5, -0.001, 2.0, 1234567.891],
        )
        .unwrap();
        let text = String::from_utf8(
            to_csv(
                &df,
                CsvSpec {
                    amount_columns: &["amount"],
                    ..CsvSpec::default()
                },
            )
            .unwrap(),
        )
        .unwrap();
        let expected = "owner,currency,amount\r\n\"team, a\",USD,1.50\r\nb;c,USD,0.00\r\n\"say \"\"hi\"\"\",EUR,2.00\r\n\"multi\nline\",USD,1234567.89\r\n";
        assert_eq!(text, expected);
        // And it reads back field for field.
        let mut r = ::csv::Reader::from_reader(text.as_bytes());
        let rows: Vec<Vec<String>> = r
            .records()
            .map(|x| x.unwrap().iter().map(String::from).collect())
            .collect();
        assert_eq!(rows[3][0], "multi\nline");
        assert_eq!(rows[2][0], "say \"hi\"");
    }

    #[test]
    fn fixed_decimals_and_bom() {
        let df = df!(
            "pct" => [Some(22.74), Some(9.8), Some(-0.0001), None],
            "ratio" => [7.8541, 10.0, 0.5, 1.0 / 3.0],
        )
        .unwrap();
        let spec = CsvSpec {
            fixed_decimals: &[("pct", 2)],
            ..CsvSpec::default()
        };
        let plain = to_csv(&df, spec).unwrap();
        assert_eq!(
            String::from_utf8(plain.clone()).unwrap(),
            "pct,ratio\r\n22.74,7.8541\r\n9.80,10.0\r\n0.00,0.5\r\n,0.3333333333333333\r\n"
        );
        let bom = to_csv(&df, CsvSpec { bom: true, ..spec }).unwrap();
        assert_eq!(&bom[..3], [0xEF, 0xBB, 0xBF]);
        assert_eq!(&bom[3..], plain.as_slice());
        assert_eq!(with_bom(b"a\r\n".to_vec(), true), b"\xEF\xBB\xBFa\r\n");
        assert_eq!(with_bom(b"a\r\n".to_vec(), false), b"a\r\n");
        assert_eq!(format_fixed(-0.004, 2), "0.00");
        assert_eq!(format_fixed(-0.5, 4), "-0.5000");
    }
}
