//! CSV for finance and auditors: RFC 4180, comma, UTF-8, header row, ISO 8601 dates, `.`
//! decimal point, no thousands separator. Quoting is the `csv` crate's (a field with a comma,
//! quote or newline is quoted; quotes doubled), so values with `,` `;` `"` or newlines survive
//! Excel and warehouse imports.

use crate::error::{Error, PolarsContext, Result};
use crate::frame::ns_to_iso;
use polars::prelude::*;

/// How to print a table: which float columns are money (exactly 2 decimals; the caller has
/// already rounded them so each column sums to its rounded total).
#[derive(Debug, Clone, Copy, Default)]
pub struct CsvSpec<'a> {
    pub amount_columns: &'a [&'a str],
}

pub fn to_csv(df: &DataFrame, spec: CsvSpec) -> Result<Vec<u8>> {
    let mut w = ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    w.write_record(&names).map_err(|e| Error::input("csv", e))?;
    let cells: Vec<Vec<String>> = df
        .columns()
        .iter()
        .map(|c| column_cells(c, spec.amount_columns.contains(&c.name().as_str())))
        .collect::<Result<_>>()?;
    for row in 0..df.height() {
        w.write_record(cells.iter().map(|c| c[row].as_str()))
            .map_err(|e| Error::input("csv", e))?;
    }
    w.into_inner()
        .map_err(|e| Error::input("csv", e.to_string()))
}

fn column_cells(c: &Column, amount: bool) -> Result<Vec<String>> {
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
                .map(|v| match v {
                    None => String::new(),
                    Some(x) if amount => format_amount(x),
                    Some(x) => format_number(x),
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
    let s = format!("{x:.2}");
    if s == "-0.00" { "0.00".into() } else { s }
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
}
