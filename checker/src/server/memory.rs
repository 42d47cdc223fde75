//! How much memory a server has used, read from `/proc` (Linux).
//!
//! The server is its process group: the checker starts every server in a
//! group of its own, so a server started through a shell that did not
//! `exec`, or one that runs helper processes, is measured whole. The peak is
//! each process's high-water mark (`VmHWM`) added up: never less than the
//! group's real peak, so a bound on it is a bound on the server.

/// The peak resident memory of the process group `pgid`, in KiB, or `None`
/// where `/proc` cannot tell (not Linux, or the group is gone).
pub(crate) fn peak_rss_kib(pgid: i32) -> Option<u64> {
    let mut total = None;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse::<i32>().ok())
        else {
            continue;
        };
        if process_group(pid) != Some(pgid) {
            continue;
        }
        if let Some(peak) = status_kib(pid, "VmHWM:") {
            *total.get_or_insert(0) += peak;
        }
    }
    total
}

/// The process group of `pid`: the fifth field of `/proc/PID/stat`, counted
/// after the command name, which is in parentheses and may hold spaces.
fn process_group(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(2)?.parse().ok()
}

/// A `kB` line of `/proc/PID/status`, such as `VmHWM:   20480 kB`.
fn status_kib(pid: i32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_a_peak() {
        let pgid = nix::unistd::getpgrp().as_raw();
        assert!(peak_rss_kib(pgid).is_some_and(|kib| kib > 0));
        assert_eq!(process_group(std::process::id() as i32), Some(pgid));
    }
}
