//! Sanity checks, machine facts and the JSON envelope, as `alcove-load` writes them
//! (crates/load/src/report.rs), so both tools' `--json` files read the same way.

use crate::steady::SteadyReport;
use alcove_load::scenario::video::VideoReport;
use serde::Serialize;

// The checks and the machine facts are alcove-load's own types: one definition for both tools.
pub use alcove_load::report::{Checks, Machine};

/// The load averages now, from `/proc/loadavg`.
pub fn load_average() -> Option<[f64; 3]> {
    let s = std::fs::read_to_string("/proc/loadavg").ok()?;
    let v: Vec<f64> = s
        .split_whitespace()
        .take(3)
        .filter_map(|x| x.parse().ok())
        .collect();
    Some([*v.first()?, *v.get(1)?, *v.get(2)?])
}

/// A scenario's report, as the envelope needs it.
pub trait ScenarioReport: Serialize {
    /// Human-readable text.
    fn text(&self) -> String;
    /// The sanity checks.
    fn checks(&self) -> &Checks;
}

impl ScenarioReport for SteadyReport {
    fn text(&self) -> String {
        SteadyReport::text(self)
    }
    fn checks(&self) -> &Checks {
        &self.checks
    }
}

impl ScenarioReport for VideoReport {
    fn text(&self) -> String {
        VideoReport::text(self)
    }
    fn checks(&self) -> &Checks {
        &self.checks
    }
}

/// What `--json` writes: the command, the machine, `"scenario"` and the report's fields,
/// flattened — the shape of `alcove-load`'s file.
#[derive(Debug, Clone, Serialize)]
pub struct Run<R: ScenarioReport> {
    /// The command line as given.
    pub command: Vec<String>,
    /// The machine when the run started.
    pub machine: Machine,
    /// Load averages when the run ended.
    pub load_average_after: Option<[f64; 3]>,
    /// `steady` or `video`.
    pub scenario: &'static str,
    /// The result.
    #[serde(flatten)]
    pub report: R,
}

impl<R: ScenarioReport> Run<R> {
    /// Text for stdout.
    pub fn text(&self) -> String {
        let load = |l: &Option<[f64; 3]>| match l {
            Some([a, b, c]) => format!("{a:.2} {b:.2} {c:.2}"),
            None => "unknown".into(),
        };
        format!(
            "janus-bench on {} cores ({}); load average before {}, after {}\ncommand: {}\n\n{}\n{}",
            self.machine.nproc,
            self.machine.cpu_model,
            load(&self.machine.load_average),
            load(&self.load_average_after),
            self.command.join(" "),
            self.report.text(),
            self.report.checks().text()
        )
    }
}
