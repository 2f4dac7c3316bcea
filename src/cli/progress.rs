//! How progress shows on stderr (stages: verifying, planning promotions, copying): an
//! indicatif bar on a terminal; in CI (no terminal) one line
//! every few seconds with done/total, rate and retries, and a last line at the end; nothing
//! under `--quiet`-like conditions (`BERTH_PROGRESS=off`). stdout never carries progress.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::model::progress::{Handle, Progress, Silent};

/// Seconds between progress lines in CI logs (`BERTH_PROGRESS_EVERY` overrides).
const EVERY: Duration = Duration::from_secs(5);

/// The progress observer for this process's stderr.
pub fn for_stderr() -> Handle {
    match std::env::var("BERTH_PROGRESS").as_deref() {
        Ok("off") => return Handle(std::sync::Arc::new(Silent)),
        Ok("lines") => return Handle(std::sync::Arc::new(Lines::new())),
        _ => {}
    }
    if std::io::stderr().is_terminal() {
        Handle(std::sync::Arc::new(Bar(Mutex::new(None))))
    } else {
        Handle(std::sync::Arc::new(Lines::new()))
    }
}

/// A bar on the terminal, with the name of its stage.
struct Bar(Mutex<Option<(ProgressBar, String)>>);

impl Progress for Bar {
    fn start(&self, what: &str, total: u64) {
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} {per_sec} eta {eta}")
                .expect("template")
                .progress_chars("=> "),
        );
        bar.set_message(what.to_string());
        // A stage that starts while another's bar shows replaces it.
        if let Some((old, _)) = self.0.lock().expect("bar").replace((bar, what.to_string())) {
            old.finish_and_clear();
        }
    }
    fn advance(&self, n: u64, retries: u64) {
        if let Some((b, what)) = &*self.0.lock().expect("bar") {
            b.inc(n);
            if retries > 0 {
                b.set_message(format!("{what} ({retries} retries)"));
            }
        }
    }
    fn finish(&self) {
        if let Some((b, _)) = self.0.lock().expect("bar").take() {
            b.finish_and_clear();
        }
    }
}

/// Periodic lines for logs: `berth: verifying 120/1000 (12%), 45.2/s, 3 retries` (likewise
/// `berth: planning promotions …` and `berth: copying …`).
struct Lines {
    every: Duration,
    state: Mutex<LineState>,
}

struct LineState {
    what: String,
    total: u64,
    done: u64,
    retries: u64,
    started: Instant,
    last: Instant,
}

impl Lines {
    fn new() -> Self {
        let every = std::env::var("BERTH_PROGRESS_EVERY")
            .ok()
            .and_then(|s| s.parse::<f64>().ok())
            .map(Duration::from_secs_f64)
            .unwrap_or(EVERY);
        let now = Instant::now();
        Lines {
            every,
            state: Mutex::new(LineState {
                what: String::new(),
                total: 0,
                done: 0,
                retries: 0,
                started: now,
                last: now,
            }),
        }
    }
}

fn line(s: &LineState) -> String {
    let secs = s.started.elapsed().as_secs_f64().max(0.001);
    let pct = (s.done * 100).checked_div(s.total).unwrap_or(100);
    format!(
        "berth: {} {}/{} ({pct}%), {:.1}/s, {} retries",
        s.what,
        s.done,
        s.total,
        s.done as f64 / secs,
        s.retries
    )
}

impl Progress for Lines {
    fn start(&self, what: &str, total: u64) {
        let mut s = self.state.lock().expect("lines");
        let now = Instant::now();
        *s = LineState {
            what: what.to_string(),
            total,
            done: 0,
            retries: 0,
            started: now,
            last: now,
        };
    }
    fn advance(&self, n: u64, retries: u64) {
        let mut s = self.state.lock().expect("lines");
        s.done += n;
        s.retries = retries;
        if s.last.elapsed() >= self.every {
            s.last = Instant::now();
            eprintln!("{}", line(&s));
        }
    }
    fn finish(&self) {
        let s = self.state.lock().expect("lines");
        // Short stages print nothing; a stage that printed progress gets its last line.
        if s.started.elapsed() >= self.every {
            eprintln!("{}", line(&s));
        }
    }
}
