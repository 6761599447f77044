//! Log setup: human lines on stderr by default, one JSON object per line with
//! `--log-format json` (for cloud log collectors). `DEFENDER_LEDGER_LOG` (or `RUST_LOG`) overrides the level (default
//! `info` for this crate, `warn` for libraries). Lines are written around the progress bars so
//! they never tear them. Nothing logs tokens or secrets: requests log their query, scope and
//! page, never headers.

use std::io::Write;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// Install the global subscriber. Safe to call more than once (later calls do nothing).
pub fn init_logging(json: bool) {
    let filter = EnvFilter::try_from_env("DEFENDER_LEDGER_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new("warn,defender_ledger=info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(BarAwareStderr);
    let _ = if json {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init()
    } else {
        builder.with_target(false).try_init()
    };
}

/// stderr, suspending the progress bars while a line is written.
#[derive(Clone, Copy)]
struct BarAwareStderr;

struct LineWriter(Vec<u8>);

impl Write for LineWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LineWriter {
    fn drop(&mut self) {
        let line = std::mem::take(&mut self.0);
        let write = || {
            let _ = std::io::stderr().write_all(&line);
        };
        if crate::collect::progress::bars_enabled() {
            crate::collect::progress::bars().suspend(write);
        } else {
            write();
        }
    }
}

impl<'a> MakeWriter<'a> for BarAwareStderr {
    type Writer = LineWriter;
    fn make_writer(&'a self) -> Self::Writer {
        LineWriter(Vec::with_capacity(256))
    }
}

/// Resident and peak resident memory of this process in MB (Linux `/proc/self/status`;
/// zeros elsewhere), for the phase lines of debug logs.
pub fn memory_mb() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
            .map(|kb| kb / 1024)
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Log the end of a phase with its duration and the memory in use (debug level).
pub fn phase_done(phase: &str, started: std::time::Instant) {
    let (rss_mb, peak_mb) = memory_mb();
    tracing::debug!(
        phase,
        seconds = started.elapsed().as_secs_f64(),
        rss_mb,
        peak_mb,
        "phase done"
    );
}
