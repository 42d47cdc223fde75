//! What the server costs the machine: CPU time and resident memory of the
//! server's process group, and the file-descriptor limit the load needs.
//!
//! Everything is read from `/proc` and the kernel's per-process CPU clocks,
//! about the whole process group the checker started, so a server launched
//! through `sh -c` without `exec` (the shell, then the server under it) is
//! still measured in full.
//!
//! CPU time comes from `clock_gettime` on each process's CPU-time clock
//! (`clock_getcpuclockid`), not from `utime + stime` in `/proc/PID/stat`:
//! those are counted in clock ticks of 10 ms, and 500 upgrades at 150 µs
//! each are 75 ms, under eight ticks. The clock is the same accounting
//! (every thread, live or exited) in nanoseconds.

use std::fs;
use std::time::Duration;

use nix::sys::resource::{Resource, getrlimit, setrlimit};
use nix::time::{ClockId, clock_gettime};
use nix::unistd::Pid;

/// One reading of the whole process group.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sample {
    /// CPU time used so far, user and system, every process of the group.
    pub(crate) cpu: Duration,
    /// Resident memory now, in KiB (`VmRSS`), summed over the group.
    pub(crate) rss_kib: u64,
}

/// Reads the CPU time and resident memory of every process in the group
/// `pgid` (the server and anything it forked).
pub(crate) fn sample(pgid: i32) -> Result<Sample, String> {
    let members = group_members(pgid);
    if members.is_empty() {
        return Err(format!("no process of group {pgid} is running any more"));
    }
    let mut total = Sample {
        cpu: Duration::ZERO,
        rss_kib: 0,
    };
    for pid in members {
        // A member that exits between the listing and the reading simply
        // no longer counts.
        let Ok(clock) = ClockId::pid_cpu_clock_id(Pid::from_raw(pid)) else {
            continue;
        };
        let Ok(time) = clock_gettime(clock) else {
            continue;
        };
        total.cpu += Duration::from(time);
        total.rss_kib += rss_kib(pid).unwrap_or(0);
    }
    Ok(total)
}

/// The processes whose process group is `pgid`, from `/proc/PID/stat`.
fn group_members(pgid: i32) -> Vec<i32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| process_group(pid) == Some(pgid))
        .collect()
}

/// Field 5 of `/proc/PID/stat`. The command name (field 2) is in parentheses
/// and may itself contain spaces and parentheses, so fields are counted from
/// the last `)`.
fn process_group(pid: i32) -> Option<i32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_process_group(&stat)
}

fn parse_process_group(stat: &str) -> Option<i32> {
    let (_, after_name) = stat.rsplit_once(')')?;
    // After the name: state (3), ppid (4), pgrp (5).
    after_name.split_whitespace().nth(2)?.parse().ok()
}

/// `VmRSS` of `/proc/PID/status`, in KiB.
fn rss_kib(pid: i32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_vm_rss(&status)
}

fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Raises this process's soft limit on open files to the hard limit, so
/// that it can hold `sockets` connections; the server, started afterwards,
/// inherits the raised limit and can accept them. Returns the limit, or why
/// `sockets` will not fit under it.
pub(crate) fn raise_open_files(sockets: usize) -> Result<u64, String> {
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE)
        .map_err(|error| format!("cannot read the open-files limit: {error}"))?;
    let limit = if soft < hard {
        match setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
            Ok(()) => hard,
            Err(_) => soft,
        }
    } else {
        soft
    };
    // The sockets themselves, plus the runtime's, cargo's and the pipes'
    // own descriptors.
    let needed = u64::try_from(sockets)
        .unwrap_or(u64::MAX)
        .saturating_add(64);
    if needed > limit {
        return Err(format!(
            "{sockets} sockets need about {needed} open files, and the limit here is {limit} \
             (`ulimit -Hn` is the most it can be raised to without root); \
             try --sockets {}",
            limit.saturating_sub(64)
        ));
    }
    Ok(limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_process_group_after_an_awkward_name() {
        let stat = "4242 (my (odd) server) S 1 4240 4240 0 -1 4194560 ...";
        assert_eq!(parse_process_group(stat), Some(4240));
    }

    #[test]
    fn reads_vm_rss() {
        let status = "Name:\tserver\nVmPeak:\t  9000 kB\nVmRSS:\t    5120 kB\nThreads:\t3\n";
        assert_eq!(parse_vm_rss(status), Some(5120));
    }

    #[test]
    fn the_checker_can_read_its_own_group() {
        let pgid = nix::unistd::getpgrp().as_raw();
        let reading = sample(pgid).expect("the test process is in its own group");
        assert!(reading.cpu > Duration::ZERO);
        assert!(reading.rss_kib > 0);
    }
}
