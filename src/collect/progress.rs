//! Progress of collection: an indicatif bar per query (rows received of `totalRecords`) when
//! stderr is a terminal, tracing events otherwise (so scheduled runs and cloud logging get
//! one line per query instead of redraw noise). Log lines written while bars are drawn go
//! through [`bars`] so they do not tear the bars (see `crate::logging`).

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Instant;

const AUTO: u8 = 0;
const ON: u8 = 1;
const OFF: u8 = 2;
static MODE: AtomicU8 = AtomicU8::new(AUTO);

/// The bars shared by every query of the process.
pub fn bars() -> &'static MultiProgress {
    static BARS: OnceLock<MultiProgress> = OnceLock::new();
    BARS.get_or_init(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()))
}

/// Force bars on or off (`None`: on when stderr is a terminal).
pub fn set_bars(enabled: Option<bool>) {
    let v = match enabled {
        None => AUTO,
        Some(true) => ON,
        Some(false) => OFF,
    };
    MODE.store(v, Ordering::SeqCst);
}

pub fn bars_enabled() -> bool {
    match MODE.load(Ordering::SeqCst) {
        ON => true,
        OFF => false,
        _ => std::io::stderr().is_terminal(),
    }
}

/// Progress of one query.
pub struct QueryProgress {
    dataset: String,
    bar: Option<ProgressBar>,
    started: Instant,
}

impl QueryProgress {
    /// No bar and no log lines (single-row probes).
    pub fn hidden() -> QueryProgress {
        QueryProgress {
            dataset: String::new(),
            bar: None,
            started: Instant::now(),
        }
    }

    pub fn start(dataset: &str) -> QueryProgress {
        let bar = bars_enabled().then(|| {
            let bar = bars().add(ProgressBar::new(0));
            bar.set_style(
                ProgressStyle::with_template(
                    "{prefix:>22} {bar:30.cyan/blue} {pos:>8}/{len:<8} rows {elapsed:>4} {msg}",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            bar.set_prefix(dataset.to_string());
            bar
        });
        QueryProgress {
            dataset: dataset.to_string(),
            bar,
            started: Instant::now(),
        }
    }

    /// A page arrived: `rows` so far of `total` reported, `page` its number.
    pub fn page(&self, page: usize, rows: u64, total: u64) {
        match &self.bar {
            Some(bar) => {
                bar.set_length(total.max(rows));
                bar.set_position(rows);
                bar.set_message(format!("page {page}"));
            }
            None => tracing::debug!(dataset = %self.dataset, page, rows, total, "page received"),
        }
    }

    /// Say why the query is waiting (throttled, retrying) on the bar; logged separately.
    pub fn note(&self, msg: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(msg.to_string());
        }
    }

    pub fn finish(self, rows: u64, total: u64, pages: usize) {
        let secs = self.started.elapsed().as_secs_f64();
        if let Some(bar) = &self.bar {
            bar.set_length(total.max(rows));
            bar.set_position(rows);
            bar.finish_with_message(format!("{pages} pages"));
        }
        tracing::info!(
            dataset = %self.dataset,
            rows,
            total_records = total,
            pages,
            seconds = format!("{secs:.1}"),
            "query complete"
        );
    }

    pub fn fail(self) {
        if let Some(bar) = &self.bar {
            bar.abandon_with_message("failed");
        }
    }
}
