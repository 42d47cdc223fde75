//! `checker bench` runs end to end on a small load and reports every figure.
//!
//! The figures themselves depend on the machine, so this asserts only that
//! each one is there and positive: 50 sockets, 100 rounds of one `typing`
//! at a time and 100 of eight at once, against the newest solution (a debug
//! build, as `cargo test` builds the checker in debug), take a couple of
//! seconds.

use assert_cmd::Command;
use serde_json::Value;

const FIGURES: [&str; 7] = [
    "upgrades_per_sec",
    "cpu_us_per_upgrade",
    "cpu_us_per_frame",
    "rss_kib_per_socket",
    "rss_kib_per_socket_after_load",
    "fanout_p50_ms",
    "fanout_p99_ms",
];

/// The same for the rounds of several `typing` at once, under `busy`.
const BUSY_FIGURES: [&str; 3] = ["cpu_us_per_frame", "fanout_p50_ms", "fanout_p99_ms"];

#[test]
fn bench_reports_every_figure_as_json() {
    let last = checker::course::last().to_string();
    let output = Command::cargo_bin("checker")
        .expect("the checker binary is built for its tests")
        .args(["bench", &last, "--solutions", "--format", "json"])
        .args(["--sockets", "50", "--rounds", "100"])
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .expect("the checker runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "bench failed:\n{stderr}");
    let report: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|error| panic!("stdout is one JSON document ({error}):\n{stderr}"));
    assert_eq!(report["sockets"], 50);
    assert_eq!(report["typing_rounds"], 100);
    assert_eq!(report["frames"], 100 * 49);
    let busy = &report["busy"];
    assert_eq!(busy["typists"], 8, "several typing at once unless told");
    assert_eq!(busy["typing_rounds"], 100);
    assert_eq!(busy["frames"], 100 * 8 * 49);
    let busy_figures = BUSY_FIGURES.map(|figure| (figure, &busy[figure]));
    for (figure, value) in FIGURES
        .map(|figure| (figure, &report[figure]))
        .iter()
        .chain(&busy_figures)
    {
        assert!(
            value.as_f64().is_some_and(|value| value > 0.0),
            "{figure} should be a positive number, got {value}"
        );
    }
}
