//! The server process as Linux's `/proc` shows it: CPU time and resident memory, and finding
//! the `alcove` process that listens on a TCP port.
//!
//! Only meaningful when the server runs on this machine. Everything here returns `None` rather
//! than failing: a load run without server metrics is still a load run.

use std::path::Path;
use std::time::Duration;

/// Name of the server's executable (`/proc/<pid>/comm`).
pub const SERVER_COMM: &str = "alcove";

/// CPU time a process has used so far (user + system), from `/proc/<pid>/stat`.
pub fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let ticks = parse_stat_ticks(&stat)?;
    Some(Duration::from_secs_f64(
        ticks as f64 / clock_ticks_per_second() as f64,
    ))
}

/// CPU time one thread has used so far, as `/proc/<pid>/task/<tid>/stat` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadCpu {
    /// Thread id.
    pub tid: u32,
    /// Thread name (`comm`), e.g. `tokio-runtime-w`.
    pub name: String,
    /// User + system time so far.
    pub cpu: Duration,
}

/// Every thread of a process with its CPU time so far (empty when the process is gone).
pub fn thread_cpu_times(pid: u32) -> Vec<ThreadCpu> {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    let tck = clock_ticks_per_second() as f64;
    let mut out: Vec<ThreadCpu> = dir
        .flatten()
        .filter_map(|e| {
            let tid: u32 = e.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
            let name = std::fs::read_to_string(e.path().join("comm")).ok()?;
            Some(ThreadCpu {
                tid,
                name: name.trim().to_owned(),
                cpu: Duration::from_secs_f64(parse_stat_ticks(&stat)? as f64 / tck),
            })
        })
        .collect();
    out.sort_by_key(|t| t.tid);
    out
}

/// `utime + stime` in clock ticks from the text of `/proc/<pid>/stat`.
fn parse_stat_ticks(stat: &str) -> Option<u64> {
    // The command name (field 2) is in parentheses and may contain spaces: split after it.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state); utime and stime are fields 14 and 15.
    let utime: u64 = fields.get(14 - 3)?.parse().ok()?;
    let stime: u64 = fields.get(15 - 3)?.parse().ok()?;
    Some(utime + stime)
}

/// `sysconf(_SC_CLK_TCK)` through `getconf` (the workspace forbids `unsafe`); 100 if unknown.
fn clock_ticks_per_second() -> u64 {
    static TCK: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *TCK.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .filter(|t| *t > 0)
            .unwrap_or(100)
    })
}

/// Resident set size in bytes, from `VmRSS` in `/proc/<pid>/status`.
pub fn rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_rss_kib(&status).map(|k| k * 1024)
}

fn parse_rss_kib(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The command name of a process.
pub fn comm(pid: u32) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()
        .map(|s| s.trim().to_owned())
}

/// The process named [`SERVER_COMM`] that has a TCP socket listening on `port`, if any.
pub fn find_server(port: u16) -> Option<u32> {
    find_process(SERVER_COMM, port)
}

/// The process named `comm_name` (`/proc/<pid>/comm`) that has a TCP socket listening on
/// `port`, if any (in this process's network namespace: `/proc/net/tcp` is per namespace).
pub fn find_process(comm_name: &str, port: u16) -> Option<u32> {
    let inodes = listening_inodes(port);
    if inodes.is_empty() {
        return None;
    }
    let wanted: Vec<String> = inodes.iter().map(|i| format!("socket:[{i}]")).collect();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if comm(pid).as_deref() != Some(comm_name) {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            if let Ok(link) = std::fs::read_link(fd.path()) {
                if wanted.iter().any(|w| Path::new(w) == link) {
                    return Some(pid);
                }
            }
        }
    }
    None
}

/// Socket inodes of TCP listeners on `port` (IPv4 and IPv6).
fn listening_inodes(port: u16) -> Vec<u64> {
    let mut out = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        if let Ok(text) = std::fs::read_to_string(table) {
            out.extend(parse_listeners(&text, port));
        }
    }
    out
}

fn parse_listeners(table: &str, port: u16) -> Vec<u64> {
    table
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
            let local_port = f.get(1)?.rsplit(':').next()?;
            let listening = *f.get(3)? == "0A";
            (listening && u16::from_str_radix(local_port, 16).ok()? == port)
                .then(|| f.get(9)?.parse().ok())
                .flatten()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_read_after_the_command_name() {
        let stat = "4242 (alcove (x) y) S 1 4242 4242 0 -1 4194560 1234 0 0 0 150 25 0 0 20 0 9 0 \
                    100 2000000 3000 18446744073709551615";
        assert_eq!(parse_stat_ticks(stat), Some(175));
    }

    #[test]
    fn rss_is_read_from_status() {
        let status = "Name:\talcove\nVmPeak:\t  9000 kB\nVmRSS:\t   12345 kB\nThreads:\t3\n";
        assert_eq!(parse_rss_kib(status), Some(12345));
    }

    #[test]
    fn listeners_are_found_by_port_and_state() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   \
            0: 0100007F:1EC8 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 5551 1 0 100 0 0 10 0\n   \
            1: 0100007F:1EC8 0100007F:D431 01 00000000:00000000 00:00000000 00000000  1000        0 5552 1 0 20 4 30 10 -1\n";
        assert_eq!(parse_listeners(table, 7880), vec![5551]);
        assert!(parse_listeners(table, 7881).is_empty());
    }

    #[test]
    fn this_process_has_cpu_time_and_memory() {
        let me = std::process::id();
        assert!(cpu_time(me).is_some());
        assert!(rss_bytes(me).unwrap() > 0);
        let threads = thread_cpu_times(me);
        assert!(threads.iter().any(|t| t.tid == me), "{threads:?}");
    }
}
