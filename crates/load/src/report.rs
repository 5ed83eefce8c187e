//! The report every scenario ends with: sanity checks, machine facts, and the envelope written
//! as JSON (`--json FILE`) next to the text on stdout.

use crate::scenario::fresh_vs_move::FreshVsMoveReport;
use crate::scenario::steady::SteadyReport;
use crate::scenario::wave::WaveReport;
use serde::Serialize;

/// One sanity check of a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What is checked.
    pub name: String,
    /// It held.
    pub ok: bool,
    /// The numbers behind it.
    pub detail: String,
}

/// The checks of one report, in the order they were made.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Checks(pub Vec<Check>);

impl Checks {
    /// Records one check.
    pub fn check(&mut self, name: &str, ok: bool, detail: impl Into<String>) {
        self.0.push(Check {
            name: name.into(),
            ok,
            detail: detail.into(),
        });
    }

    /// Every check held.
    pub fn passed(&self) -> bool {
        self.0.iter().all(|c| c.ok)
    }

    /// The checks that failed.
    pub fn failed(&self) -> Vec<&Check> {
        self.0.iter().filter(|c| !c.ok).collect()
    }

    /// One line per check.
    pub fn text(&self) -> String {
        let mut s = String::from("checks:\n");
        for c in &self.0 {
            let mark = if c.ok { "ok  " } else { "FAIL" };
            s.push_str(&format!("  [{mark}] {}: {}\n", c.name, c.detail));
        }
        s
    }
}

/// The machine the run happened on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Machine {
    /// Cores available to this process (`nproc`).
    pub nproc: usize,
    /// `model name` from `/proc/cpuinfo`.
    pub cpu_model: String,
}

impl Machine {
    /// Reads the facts of this machine.
    pub fn this() -> Machine {
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, v)| v.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown".into());
        Machine {
            nproc: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu_model,
        }
    }
}

/// A scenario's result.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "scenario", rename_all = "kebab-case")]
pub enum Report {
    /// `wave`.
    Wave(WaveReport),
    /// `steady`.
    Steady(SteadyReport),
    /// `fresh-vs-move`.
    FreshVsMove(FreshVsMoveReport),
}

impl Report {
    /// The report's sanity checks.
    pub fn checks(&self) -> &Checks {
        match self {
            Report::Wave(r) => &r.checks,
            Report::Steady(r) => &r.checks,
            Report::FreshVsMove(r) => &r.checks,
        }
    }

    /// Human-readable text.
    pub fn text(&self) -> String {
        match self {
            Report::Wave(r) => r.text(),
            Report::Steady(r) => r.text(),
            Report::FreshVsMove(r) => r.text(),
        }
    }
}

/// What `--json` writes: the command, the machine, the report.
#[derive(Debug, Clone, Serialize)]
pub struct Run {
    /// The command line as given.
    pub command: Vec<String>,
    /// The machine.
    pub machine: Machine,
    /// The result.
    #[serde(flatten)]
    pub report: Report,
}

impl Run {
    /// Text for stdout.
    pub fn text(&self) -> String {
        format!(
            "alcove-load on {} cores ({})\ncommand: {}\n\n{}\n{}",
            self.machine.nproc,
            self.machine.cpu_model,
            self.command.join(" "),
            self.report.text(),
            self.report.checks().text()
        )
    }
}
