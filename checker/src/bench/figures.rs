//! The bench's results: the five figures issue 16 asks for, worked out from
//! the raw readings, and printed as text for a person or as one JSON
//! document for a script (`scripts/plot-bench.py` reads it).
//!
//! The readings are kept apart from the arithmetic so that every figure is
//! computed in one place, the same way for both formats.

use std::time::Duration;

use serde_json::{Value, json};

/// What was measured, before any division.
pub(crate) struct Readings {
    /// What ran, in words (`solution 7 (release)`, `sh -c "..."`).
    pub(crate) server: String,
    pub(crate) sockets: usize,
    /// Wall time from the first upgrade request to the last `authenticated`.
    pub(crate) upgrade_time: Duration,
    /// Server CPU over the same span.
    pub(crate) upgrade_cpu: Duration,
    /// Server RSS before the first socket, once every socket was
    /// authenticated (idle: nothing sent yet but the greeting), and after
    /// the joins and the typing rounds, when what the traffic left behind
    /// (grown buffers, memory the allocator keeps) counts too.
    pub(crate) rss_before_kib: u64,
    pub(crate) rss_idle_kib: u64,
    pub(crate) rss_loaded_kib: u64,
    /// Server CPU over the typing rounds, and the frames they delivered.
    pub(crate) typing_cpu: Duration,
    pub(crate) frames: u64,
    /// One entry per `typing`: until its last receiver had it.
    pub(crate) latencies: Vec<Duration>,
}

/// The figures, as printed.
#[derive(Debug)]
pub(crate) struct Figures {
    pub(crate) upgrades_per_sec: f64,
    pub(crate) cpu_us_per_upgrade: f64,
    pub(crate) cpu_us_per_frame: f64,
    pub(crate) rss_kib_per_socket: f64,
    pub(crate) rss_kib_per_socket_after_load: f64,
    pub(crate) fanout_p50_ms: f64,
    pub(crate) fanout_p99_ms: f64,
}

impl Readings {
    pub(crate) fn figures(&self) -> Figures {
        let sockets = self.sockets as f64;
        let mut latencies = self.latencies.clone();
        latencies.sort();
        Figures {
            upgrades_per_sec: sockets / self.upgrade_time.as_secs_f64(),
            cpu_us_per_upgrade: micros(self.upgrade_cpu) / sockets,
            cpu_us_per_frame: micros(self.typing_cpu) / self.frames as f64,
            // Memory the allocator handed back can make these negative on a
            // tiny run; a socket never costs less than nothing.
            rss_kib_per_socket: self.rss_idle_kib.saturating_sub(self.rss_before_kib) as f64
                / sockets,
            rss_kib_per_socket_after_load: self.rss_loaded_kib.saturating_sub(self.rss_before_kib)
                as f64
                / sockets,
            fanout_p50_ms: millis(percentile(&latencies, 50)),
            fanout_p99_ms: millis(percentile(&latencies, 99)),
        }
    }

    /// The report for a person.
    pub(crate) fn text(&self) -> String {
        let figures = self.figures();
        let receivers = self.sockets - 1;
        [
            format!(
                "bench: {}, {} sockets in board-1, {} typing rounds ({} frames)",
                self.server,
                self.sockets,
                self.latencies.len(),
                self.frames
            ),
            format!(
                "  upgrades with cookie auth       {:>9.0} /s",
                figures.upgrades_per_sec
            ),
            format!(
                "  server CPU per upgrade          {:>9.1} µs",
                figures.cpu_us_per_upgrade
            ),
            format!(
                "  server CPU per delivered frame  {:>9.2} µs",
                figures.cpu_us_per_frame
            ),
            format!(
                "  server RSS per idle socket      {:>9.1} KiB ({:.1} KiB after the load)",
                figures.rss_kib_per_socket, figures.rss_kib_per_socket_after_load
            ),
            format!(
                "  fan-out latency p50 / p99       {:>9.2} / {:.2} ms (one typing to the last of {receivers} receivers)",
                figures.fanout_p50_ms, figures.fanout_p99_ms
            ),
        ]
        .join("\n")
    }

    /// The same figures as one JSON document, with the readings behind them.
    pub(crate) fn json(&self) -> Value {
        let figures = self.figures();
        json!({
            "server": self.server,
            "sockets": self.sockets,
            "typing_rounds": self.latencies.len(),
            "frames": self.frames,
            "upgrades_per_sec": figures.upgrades_per_sec,
            "cpu_us_per_upgrade": figures.cpu_us_per_upgrade,
            "cpu_us_per_frame": figures.cpu_us_per_frame,
            "rss_kib_per_socket": figures.rss_kib_per_socket,
            "rss_kib_per_socket_after_load": figures.rss_kib_per_socket_after_load,
            "fanout_p50_ms": figures.fanout_p50_ms,
            "fanout_p99_ms": figures.fanout_p99_ms,
            "rss_before_kib": self.rss_before_kib,
            "rss_idle_kib": self.rss_idle_kib,
            "rss_loaded_kib": self.rss_loaded_kib,
        })
    }
}

fn micros(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

/// The nearest-rank percentile of sorted values (zero for none).
fn percentile(sorted: &[Duration], percent: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (sorted.len() * percent).div_ceil(100).max(1);
    sorted[rank - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(values: &[u64]) -> Vec<Duration> {
        values.iter().copied().map(Duration::from_millis).collect()
    }

    #[test]
    fn nearest_rank_percentiles() {
        let sorted = ms(&(1..=100).collect::<Vec<_>>());
        assert_eq!(percentile(&sorted, 50), Duration::from_millis(50));
        assert_eq!(percentile(&sorted, 99), Duration::from_millis(99));
        assert_eq!(percentile(&ms(&[7]), 99), Duration::from_millis(7));
        assert_eq!(percentile(&[], 50), Duration::ZERO);
    }

    #[test]
    fn figures_divide_by_what_they_count() {
        let readings = Readings {
            server: "test".to_owned(),
            sockets: 100,
            upgrade_time: Duration::from_millis(50),
            upgrade_cpu: Duration::from_millis(15),
            rss_before_kib: 1000,
            rss_idle_kib: 2200,
            rss_loaded_kib: 3400,
            typing_cpu: Duration::from_millis(30),
            frames: 10_000,
            latencies: ms(&[3, 1, 2]),
        };
        let figures = readings.figures();
        assert_eq!(figures.upgrades_per_sec.round(), 2000.0);
        assert_eq!(figures.cpu_us_per_upgrade.round(), 150.0);
        assert_eq!(figures.cpu_us_per_frame.round(), 3.0);
        assert_eq!(figures.rss_kib_per_socket, 12.0);
        assert_eq!(figures.rss_kib_per_socket_after_load, 24.0);
        assert_eq!(figures.fanout_p50_ms.round(), 2.0);
        assert_eq!(readings.json()["frames"], 10_000);
    }
}
