//! Printing: tables for people, JSON for scripts, spinners only on a terminal.

use std::future::Future;
use std::io::IsTerminal;
use std::time::Duration;

use comfy_table::{Table, presets};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;

/// A table with one row per item.
pub fn print_table(headers: &[&str], rows: Vec<Vec<String>>) {
    let mut table = Table::new();
    table.load_preset(presets::UTF8_FULL_CONDENSED).set_header(headers);
    for row in rows {
        table.add_row(row);
    }
    println!("{table}");
}

/// A two-column table of one item's fields.
pub fn print_fields(fields: Vec<(&str, String)>) {
    let mut table = Table::new();
    table.load_preset(presets::UTF8_FULL_CONDENSED);
    for (name, value) in fields {
        table.add_row(vec![name.to_owned(), value]);
    }
    println!("{table}");
}

pub fn print_json(value: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
    );
}

/// A JSON text field as a JSON value (kept as a string if it does not parse).
pub fn json_text(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

/// A JSON text field on one line, for a table cell.
pub fn compact(text: &str) -> String {
    serde_json::from_str::<Value>(text).map_or_else(|_| text.to_owned(), |v| v.to_string())
}

pub fn timestamp(t: Option<&prost_types::Timestamp>) -> Option<String> {
    let t = t?;
    let nanos = u32::try_from(t.nanos).unwrap_or(0);
    chrono::DateTime::from_timestamp(t.seconds, nanos).map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

pub fn timestamp_json(t: Option<&prost_types::Timestamp>) -> Value {
    timestamp(t).map_or(Value::Null, Value::String)
}

pub fn timestamp_cell(t: Option<&prost_types::Timestamp>) -> String {
    timestamp(t).unwrap_or_else(|| "-".to_owned())
}

pub fn optional<T: ToString>(value: Option<T>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

/// Whether live views may redraw: only for a person at a terminal.
pub fn interactive() -> bool {
    std::io::stderr().is_terminal()
}

/// A spinner on stderr while `work` runs (nothing when not on a terminal).
pub async fn spin<F: Future>(message: &str, work: F) -> F::Output {
    let spinner = interactive().then(|| {
        let bar = ProgressBar::new_spinner().with_message(message.to_owned());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg}").unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(Duration::from_millis(100));
        bar
    });
    let output = work.await;
    if let Some(bar) = spinner {
        bar.finish_and_clear();
    }
    output
}
