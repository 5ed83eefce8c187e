//! Progress on stderr while a scenario runs (indicatif), drawn only when stderr is a terminal.
//! Without a terminal, each phase prints one plain line to stderr instead.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::Duration;

/// Where a scenario reports its phases.
#[derive(Debug, Clone)]
pub struct Progress {
    multi: MultiProgress,
    /// Bars are drawn.
    drawn: bool,
    /// Plain phase lines are printed when bars are not drawn.
    lines: bool,
}

impl Progress {
    /// Bars on stderr when it is a terminal and `enabled`; otherwise plain phase lines.
    pub fn stderr(enabled: bool) -> Progress {
        let drawn = enabled && std::io::stderr().is_terminal();
        let target = if drawn {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        Progress {
            multi: MultiProgress::with_draw_target(target),
            drawn,
            lines: true,
        }
    }

    /// Nothing at all (library use, tests).
    pub fn silent() -> Progress {
        Progress {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::hidden()),
            drawn: false,
            lines: false,
        }
    }

    /// A bar counting `len` steps.
    pub fn bar(&self, len: u64, msg: &str) -> ProgressBar {
        self.phase(msg);
        let pb = self.multi.add(ProgressBar::new(len));
        pb.set_style(
            ProgressStyle::with_template(
                "{msg:28} [{bar:40.cyan/blue}] {pos:>4}/{len:4} {elapsed_precise}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        pb.set_message(msg.to_owned());
        pb
    }

    /// A spinner for a step of unknown length.
    pub fn spinner(&self, msg: &str) -> ProgressBar {
        self.phase(msg);
        let pb = self.multi.add(ProgressBar::new_spinner());
        pb.set_message(msg.to_owned());
        if self.drawn {
            pb.enable_steady_tick(Duration::from_millis(100));
        }
        pb
    }

    /// Waits `d` with a bar that fills up meanwhile.
    pub async fn wait(&self, d: Duration, msg: &str) {
        let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1);
        let pb = self.bar(ms, msg);
        pb.set_style(
            ProgressStyle::with_template("{msg:28} [{bar:40.green/blue}] {elapsed_precise}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        let end = tokio::time::Instant::now() + d;
        let mut t = tokio::time::interval(Duration::from_millis(100));
        loop {
            t.tick().await;
            let now = tokio::time::Instant::now();
            if now >= end {
                break;
            }
            pb.set_position(ms - u64::try_from((end - now).as_millis()).unwrap_or(0));
        }
        pb.finish_and_clear();
    }

    /// One line for a new phase (only without bars).
    pub fn phase(&self, msg: &str) {
        if self.lines && !self.drawn {
            eprintln!("alcove-load: {msg}");
        }
    }

    /// A line above the bars (or plain when there are none).
    pub fn note(&self, msg: &str) {
        if self.drawn {
            let _ = self.multi.println(msg);
        } else if self.lines {
            eprintln!("alcove-load: {msg}");
        }
    }
}
