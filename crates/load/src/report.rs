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
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Machine {
    /// Cores available to this process (`nproc`).
    pub nproc: usize,
    /// `model name` from `/proc/cpuinfo`.
    pub cpu_model: String,
    /// 1-, 5- and 15-minute load averages (`/proc/loadavg`) when these facts were read: other
    /// work on the machine competes with the server and the load tool.
    pub load_average: Option<[f64; 3]>,
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
        let load_average = std::fs::read_to_string("/proc/loadavg").ok().and_then(|s| {
            let v: Vec<f64> = s
                .split_whitespace()
                .take(3)
                .filter_map(|x| x.parse().ok())
                .collect();
            Some([*v.first()?, *v.get(1)?, *v.get(2)?])
        });
        Machine {
            nproc: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu_model,
            load_average,
        }
    }
}

/// A scenario's result.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "scenario", rename_all = "kebab-case")]
pub enum Report {
    /// `wave`.
    Wave(Box<WaveReport>),
    /// `steady`.
    Steady(Box<SteadyReport>),
    /// `fresh-vs-move`.
    FreshVsMove(Box<FreshVsMoveReport>),
    /// `soak`.
    Soak(Box<crate::scenario::soak::SoakReport>),
    /// `class`.
    Class(Box<crate::scenario::class::ClassReport>),
    /// `video`.
    Video(Box<crate::scenario::video::VideoReport>),
}

impl Report {
    /// The report's sanity checks.
    pub fn checks(&self) -> &Checks {
        match self {
            Report::Wave(r) => &r.checks,
            Report::Steady(r) => &r.checks,
            Report::FreshVsMove(r) => &r.checks,
            Report::Soak(r) => &r.checks,
            Report::Class(r) => &r.checks,
            Report::Video(r) => &r.checks,
        }
    }

    /// Human-readable text.
    pub fn text(&self) -> String {
        match self {
            Report::Wave(r) => r.text(),
            Report::Steady(r) => r.text(),
            Report::FreshVsMove(r) => r.text(),
            Report::Soak(r) => r.text(),
            Report::Class(r) => r.text(),
            Report::Video(r) => r.text(),
        }
    }
}

/// What `--json` writes: the command, the machine, the report.
#[derive(Debug, Clone, Serialize)]
pub struct Run {
    /// The command line as given.
    pub command: Vec<String>,
    /// The machine when the run started.
    pub machine: Machine,
    /// Load averages when the run ended.
    pub load_average_after: Option<[f64; 3]>,
    /// The result.
    #[serde(flatten)]
    pub report: Report,
}

impl Run {
    /// Text for stdout.
    pub fn text(&self) -> String {
        let load = |l: &Option<[f64; 3]>| match l {
            Some([a, b, c]) => format!("{a:.2} {b:.2} {c:.2}"),
            None => "unknown".into(),
        };
        format!(
            "alcove-load on {} cores ({}); load average before {}, after {}\ncommand: {}\n\n{}\n{}",
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
