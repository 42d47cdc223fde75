//! The bench's results: the five figures of the table in
//! book/src/what-it-costs.md#measuring-your-own-server, worked out from
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
    /// `typing` sent by one socket at a time, each once the previous one
    /// reached everybody.
    pub(crate) one_at_a_time: Typing,
    /// Then rounds of several sockets sending `typing` together (none when
    /// `--typists 1` asked for one at a time only).
    pub(crate) busy: Option<Typing>,
}

/// The readings of one phase of typing rounds.
pub(crate) struct Typing {
    /// Sockets that sent `typing` together in each round.
    pub(crate) typists: usize,
    /// Server CPU over the rounds, and the frames they delivered.
    pub(crate) cpu: Duration,
    pub(crate) frames: u64,
    /// One entry per round: from its first `typing` until the last receiver
    /// had the last `user_typing`.
    pub(crate) latencies: Vec<Duration>,
}

/// What a phase of typing rounds works out to.
#[derive(Debug)]
pub(crate) struct TypingFigures {
    pub(crate) cpu_us_per_frame: f64,
    pub(crate) fanout_p50_ms: f64,
    pub(crate) fanout_p99_ms: f64,
}

impl Typing {
    pub(crate) fn figures(&self) -> TypingFigures {
        let mut latencies = self.latencies.clone();
        latencies.sort();
        TypingFigures {
            cpu_us_per_frame: micros(self.cpu) / self.frames as f64,
            fanout_p50_ms: millis(percentile(&latencies, 50)),
            fanout_p99_ms: millis(percentile(&latencies, 99)),
        }
    }

    fn json(&self) -> Value {
        let figures = self.figures();
        json!({
            "typists": self.typists,
            "typing_rounds": self.latencies.len(),
            "frames": self.frames,
            "cpu_us_per_frame": figures.cpu_us_per_frame,
            "fanout_p50_ms": figures.fanout_p50_ms,
            "fanout_p99_ms": figures.fanout_p99_ms,
        })
    }
}

/// The figures, as printed.
#[derive(Debug)]
pub(crate) struct Figures {
    pub(crate) upgrades_per_sec: f64,
    pub(crate) cpu_us_per_upgrade: f64,
    pub(crate) rss_kib_per_socket: f64,
    pub(crate) rss_kib_per_socket_after_load: f64,
    pub(crate) one_at_a_time: TypingFigures,
    pub(crate) busy: Option<TypingFigures>,
}

impl Readings {
    pub(crate) fn figures(&self) -> Figures {
        let sockets = self.sockets as f64;
        Figures {
            upgrades_per_sec: sockets / self.upgrade_time.as_secs_f64(),
            cpu_us_per_upgrade: micros(self.upgrade_cpu) / sockets,
            // Memory the allocator handed back can make these negative on a
            // tiny run; a socket never costs less than nothing.
            rss_kib_per_socket: self.rss_idle_kib.saturating_sub(self.rss_before_kib) as f64
                / sockets,
            rss_kib_per_socket_after_load: self.rss_loaded_kib.saturating_sub(self.rss_before_kib)
                as f64
                / sockets,
            one_at_a_time: self.one_at_a_time.figures(),
            busy: self.busy.as_ref().map(Typing::figures),
        }
    }

    /// The report for a person.
    pub(crate) fn text(&self) -> String {
        let figures = self.figures();
        let receivers = self.sockets - 1;
        let single = &figures.one_at_a_time;
        let mut lines = vec![
            format!(
                "bench: {}, {} sockets in board-1, {} frames",
                self.server,
                self.sockets,
                self.one_at_a_time.frames + self.busy.as_ref().map_or(0, |busy| busy.frames),
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
                "  server RSS per idle socket      {:>9.1} KiB ({:.1} KiB after the load)",
                figures.rss_kib_per_socket, figures.rss_kib_per_socket_after_load
            ),
            format!(
                "  one typing at a time ({} rounds, each to the other {receivers} sockets):",
                self.one_at_a_time.latencies.len()
            ),
            format!(
                "    server CPU per delivered frame{:>9.2} µs",
                single.cpu_us_per_frame
            ),
            format!(
                "    fan-out latency p50 / p99     {:>9.2} / {:.2} ms (to the last receiver)",
                single.fanout_p50_ms, single.fanout_p99_ms
            ),
        ];
        if let (Some(busy), Some(readings)) = (&figures.busy, &self.busy) {
            lines.extend([
                format!(
                    "  {} typing at once ({} rounds, as in a busy board):",
                    readings.typists,
                    readings.latencies.len()
                ),
                format!(
                    "    server CPU per delivered frame{:>9.2} µs",
                    busy.cpu_us_per_frame
                ),
                format!(
                    "    fan-out latency p50 / p99     {:>9.2} / {:.2} ms (a round's first typing to its last receiver)",
                    busy.fanout_p50_ms, busy.fanout_p99_ms
                ),
            ]);
        }
        lines.join("\n")
    }

    /// The same figures as one JSON document, with the readings behind them.
    /// The typing figures at the top level are those of one typing at a
    /// time; `busy` has the same for several at once, or is null.
    pub(crate) fn json(&self) -> Value {
        let figures = self.figures();
        let mut document = json!({
            "server": self.server,
            "sockets": self.sockets,
            "upgrades_per_sec": figures.upgrades_per_sec,
            "cpu_us_per_upgrade": figures.cpu_us_per_upgrade,
            "rss_kib_per_socket": figures.rss_kib_per_socket,
            "rss_kib_per_socket_after_load": figures.rss_kib_per_socket_after_load,
            "rss_before_kib": self.rss_before_kib,
            "rss_idle_kib": self.rss_idle_kib,
            "rss_loaded_kib": self.rss_loaded_kib,
            "busy": self.busy.as_ref().map(Typing::json),
        });
        if let (Value::Object(document), Value::Object(single)) =
            (&mut document, self.one_at_a_time.json())
        {
            document.extend(single);
        }
        document
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
            one_at_a_time: Typing {
                typists: 1,
                cpu: Duration::from_millis(30),
                frames: 10_000,
                latencies: ms(&[3, 1, 2]),
            },
            busy: Some(Typing {
                typists: 4,
                cpu: Duration::from_millis(40),
                frames: 20_000,
                latencies: ms(&[5]),
            }),
        };
        let figures = readings.figures();
        assert_eq!(figures.upgrades_per_sec.round(), 2000.0);
        assert_eq!(figures.cpu_us_per_upgrade.round(), 150.0);
        assert_eq!(figures.rss_kib_per_socket, 12.0);
        assert_eq!(figures.rss_kib_per_socket_after_load, 24.0);
        assert_eq!(figures.one_at_a_time.cpu_us_per_frame.round(), 3.0);
        assert_eq!(figures.one_at_a_time.fanout_p50_ms.round(), 2.0);
        let busy = figures.busy.expect("a busy phase was measured");
        assert_eq!(busy.cpu_us_per_frame.round(), 2.0);
        assert_eq!(busy.fanout_p99_ms.round(), 5.0);
        let json = readings.json();
        assert_eq!(json["frames"], 10_000);
        assert_eq!(json["busy"]["frames"], 20_000);
        assert_eq!(json["busy"]["typists"], 4);
    }
}
