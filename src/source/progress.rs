//! Progress of a fetch from a CRM API, on standard error only (standard
//! output carries nothing but the result): a bar with records fetched, rate
//! and time left on a terminal; on anything else (CI logs) a plain line when
//! a fetch starts, every [`EVERY`] while it runs, and when it ends.

use std::io::{IsTerminal as _, Write as _};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How often a plain progress line is written.
pub const EVERY: Duration = Duration::from_secs(10);

/// Where progress goes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Progress {
    /// A bar when standard error is a terminal, plain lines otherwise.
    #[default]
    Auto,
    /// Nothing.
    Quiet,
}

impl Progress {
    /// A line of its own (what was decided, and why).
    pub fn line(self, text: &str) {
        if self != Progress::Quiet {
            let _ = writeln!(std::io::stderr(), "{text}");
        }
    }

    /// Starts counting the records of `what` (`crm: contacts`), `total` of
    /// them when known.
    pub fn start(self, what: &str, total: Option<u64>) -> Bar {
        let bar = (self == Progress::Auto && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr());
            bar.set_style(style(total.is_some()));
            bar.set_prefix(what.to_string());
            bar
        });
        let now = Instant::now();
        let b = Bar {
            progress: self,
            what: what.to_string(),
            total,
            done: 0,
            started: now,
            last: now,
            bar,
        };
        if b.bar.is_none() {
            self.line(&format!(
                "{what}: fetching{}",
                total.map(|t| format!(" {t} records")).unwrap_or_default()
            ));
        }
        b
    }
}

fn style(known: bool) -> ProgressStyle {
    let template = if known {
        "{prefix} [{bar:30}] {human_pos}/{human_len} records, {per_sec}, {eta} left"
    } else {
        "{prefix} {spinner} {human_pos} records, {per_sec}"
    };
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

/// One fetch being counted.
#[derive(Debug)]
pub struct Bar {
    progress: Progress,
    what: String,
    total: Option<u64>,
    done: u64,
    started: Instant,
    last: Instant,
    bar: Option<ProgressBar>,
}

impl Bar {
    /// The total, once known.
    pub fn total(&mut self, total: Option<u64>) {
        self.total = total;
        if let (Some(bar), Some(t)) = (&self.bar, total) {
            bar.set_length(t);
            bar.set_style(style(true));
        }
    }

    /// `n` more records fetched.
    pub fn advance(&mut self, n: u64) {
        self.done += n;
        if let Some(bar) = &self.bar {
            bar.inc(n);
            return;
        }
        if self.last.elapsed() >= EVERY {
            self.last = Instant::now();
            self.progress.line(&self.status());
        }
    }

    /// `crm: contacts: 12000 of 48000 records (25%), 961/s, about 37 s left`.
    fn status(&self) -> String {
        let secs = self.started.elapsed().as_secs_f64().max(1e-3);
        let rate = self.done as f64 / secs;
        match self.total {
            Some(t) if t > 0 => {
                let left = t.saturating_sub(self.done) as f64 / rate.max(1e-9);
                format!(
                    "{}: {} of {t} records ({:.0}%), {rate:.0}/s, about {left:.0} s left",
                    self.what,
                    self.done,
                    100.0 * self.done as f64 / t as f64
                )
            }
            _ => format!("{}: {} records, {rate:.0}/s", self.what, self.done),
        }
    }

    /// The fetch is over.
    pub fn finish(self) {
        let secs = self.started.elapsed().as_secs_f64();
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        self.progress.line(&format!(
            "{}: {} records fetched in {secs:.1} s",
            self.what, self.done
        ));
    }
}
