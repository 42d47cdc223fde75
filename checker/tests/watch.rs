//! `checker watch` in a copy of the workspace: it grades on start, grades
//! again when an exercise is saved, moves on to the next exercise once the
//! one being worked on passes, and leaves no server behind after Ctrl-C.
//!
//! The copy is what the watch edits, so the workspace under test is never
//! touched. Its checker is built in the copy (the checker builds and
//! watches the workspace it was compiled in). Two things keep that build
//! short and harmless to the real workspace:
//!
//! - The copy's intermediate artifacts go to the real build directory
//!   (`CARGO_BUILD_BUILD_DIR`), so the registry crates are not compiled
//!   again; its final binaries go to a target directory of its own.
//! - Its packages get another version. Cargo names a workspace member's
//!   artifacts after its path *relative to the workspace*, so the copy's
//!   `exercise-01` would otherwise be the real one's file: the broken and
//!   then solved exercise 1 this test compiles would become the real
//!   workspace's binary, fresh by its timestamps, for anyone running the
//!   checker there meanwhile or after.
//!
//! Exercises 1 and 2 are made not to compile at the start, whatever they
//! held (stubs, or solutions as in `scripts/test-as-student.sh`). The test
//! then saves the solution over exercise 1: exercise 1 must pass and the
//! same run must stop at exercise 2. Every wait is bounded by one deadline;
//! past it the watch is stopped and the test fails with what it printed.
//!
//! Building the copy takes most of a minute, so the test is marked
//! `#[ignore]`: CI runs it, with `cargo test --workspace -- --ignored`.

use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;

/// Building the copy's checker, board and exercises on a loaded two-core
/// machine takes most of this; the grading runs take seconds.
const LIMIT: Duration = Duration::from_secs(240);

/// What the copy needs to build: the workspace's manifest, lock file and
/// members.
const COPIED: [&str; 9] = [
    "Cargo.toml",
    "Cargo.lock",
    "attacks",
    "board",
    "checker",
    "exercises",
    "solutions",
    "testing",
    "workspace-hack",
];

/// The workspace members, whose manifests get the copy's own version.
const MEMBERS: [&str; 8] = [
    "attacks",
    "board",
    "checker",
    "exercises",
    "solutions",
    "solutions/attacks",
    "testing/broken-server",
    "workspace-hack",
];

/// Appended to an exercise: a type error, so it does not compile.
const TYPE_ERROR: &str = "\nfn watch_test_breaks_this() -> u8 {\n    \"not a number\"\n}\n";

fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the checker is a member of the workspace")
}

/// Where the real workspace keeps its intermediate artifacts.
fn real_build_dir() -> PathBuf {
    std::env::var_os("CARGO_BUILD_BUILD_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_TARGET_TMPDIR"))
                .parent()
                .expect("the tmp directory is inside the target directory")
                .to_owned()
        })
}

/// Copies a file or a directory, keeping each file's modification time:
/// cargo judges a member's artifacts fresh by the times of its sources, so
/// the copy's unchanged crates are built once, not on every run of the test.
fn copy_tree(from: &Path, to: &Path) {
    if from.is_dir() {
        fs::create_dir_all(to).expect("a directory in the copy");
        for entry in fs::read_dir(from).expect("a readable directory") {
            let entry = entry.expect("a readable entry");
            // Build output of a member built on its own has no place in it.
            if entry.file_name() != "target" {
                copy_tree(&entry.path(), &to.join(entry.file_name()));
            }
        }
    } else {
        fs::copy(from, to).unwrap_or_else(|error| panic!("copying {}: {error}", from.display()));
        let modified = fs::metadata(from)
            .and_then(|metadata| metadata.modified())
            .expect("a modification time");
        fs::File::options()
            .write(true)
            .open(to)
            .and_then(|file| file.set_modified(modified))
            .expect("the copy keeps the modification time");
    }
}

/// Gives the manifest's package version a `-watch-test` suffix.
fn give_own_version(manifest: &Path) {
    let text = fs::read_to_string(manifest).expect("a manifest");
    let mut done = false;
    let renamed: Vec<String> = text
        .lines()
        .map(|line| match line.strip_suffix('"') {
            Some(version) if !done && line.starts_with("version = \"") => {
                done = true;
                format!("{version}-watch-test\"")
            }
            _ => line.to_owned(),
        })
        .collect();
    assert!(done, "{} names no version", manifest.display());
    fs::write(manifest, renamed.join("\n") + "\n").expect("the manifest is written");
}

/// The directory of an exercise or solution: `exercises/01-cookie-auth`.
fn numbered(copy: &Path, package: &str, number: u8) -> PathBuf {
    let prefix = format!("{number:02}-");
    fs::read_dir(copy.join(package))
        .expect("the package directory")
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|path| {
            path.file_name()
                .is_some_and(|name| name.to_string_lossy().starts_with(&prefix))
        })
        .unwrap_or_else(|| panic!("no {package}/{prefix}*"))
}

/// Runs `command` to its end within the deadline, in a process group of
/// its own that is killed if the deadline passes.
fn run_bounded(mut command: Command, deadline: Instant, what: &str) -> std::process::Output {
    let child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("the command starts");
    let pid = Pid::from_raw(child.id() as i32);
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = sender.send(child.wait_with_output());
    });
    match receiver.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        Ok(output) => output.expect("waiting works"),
        Err(_) => {
            let _ = nix::sys::signal::killpg(pid, Signal::SIGKILL);
            panic!("{what} did not finish within {LIMIT:?}");
        }
    }
}

/// The lines of both pipes of a child, as they come: `(is_stdout, line)`.
fn lines_of(child: &mut Child) -> Receiver<(bool, String)> {
    let (sender, receiver) = mpsc::channel();
    let forward = |pipe: Box<dyn Read + Send>, is_stdout: bool| {
        let sender = sender.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                if sender.send((is_stdout, line)).is_err() {
                    break;
                }
            }
        });
    };
    forward(Box::new(child.stdout.take().expect("piped")), true);
    forward(Box::new(child.stderr.take().expect("piped")), false);
    receiver
}

/// The watch under test and everything it printed.
struct Watch {
    child: Child,
    lines: Receiver<(bool, String)>,
    stdout: Vec<String>,
    stderr: Vec<String>,
    deadline: Instant,
}

impl Watch {
    /// Reads until a stdout line starts with `prefix`; returns the stdout
    /// lines printed up to it.
    fn until(&mut self, prefix: &str) -> Vec<String> {
        let mut since = Vec::new();
        loop {
            let left = self.deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok((true, line)) => {
                    let found = line.starts_with(prefix);
                    since.push(line.clone());
                    self.stdout.push(line);
                    if found {
                        return since;
                    }
                }
                Ok((false, line)) => self.stderr.push(line),
                Err(_) => self.fail(&format!("no line starting with {prefix:?}")),
            }
        }
    }

    fn printed(&self) -> String {
        format!(
            "{}\n--- stderr ---\n{}",
            self.stdout.join("\n"),
            self.stderr.join("\n")
        )
    }

    fn fail(&mut self, why: &str) -> ! {
        self.stop();
        panic!("{why} within {LIMIT:?}; printed:\n{}", self.printed());
    }

    /// Ctrl-C, then a bounded wait for the exit; SIGKILL if it does not come.
    fn stop(&mut self) -> Option<i32> {
        let pid = Pid::from_raw(self.child.id() as i32);
        let _ = kill(pid, Signal::SIGINT);
        // The pipes close when the checker exits: drain them until then.
        let limit = Instant::now() + Duration::from_secs(10);
        loop {
            match self
                .lines
                .recv_timeout(limit.saturating_duration_since(Instant::now()))
            {
                Ok((true, line)) => self.stdout.push(line),
                Ok((false, line)) => self.stderr.push(line),
                Err(RecvTimeoutError::Disconnected) => {
                    return self.child.wait().ok().and_then(|status| status.code());
                }
                Err(RecvTimeoutError::Timeout) => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    return None;
                }
            }
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Processes running a binary from `dir` (the copy's servers).
fn processes_running_from(dir: &Path) -> Vec<String> {
    fs::read_dir("/proc")
        .expect("/proc")
        .filter_map(Result::ok)
        .filter_map(|entry| fs::read_link(entry.path().join("exe")).ok())
        .filter(|exe| exe.starts_with(dir))
        .map(|exe| exe.display().to_string())
        .collect()
}

#[test]
#[ignore = "slow: CI runs it (cargo test --workspace -- --ignored)"]
fn watch_grades_again_on_save_and_moves_on_to_the_next_exercise() {
    let deadline = Instant::now() + LIMIT;
    let scratch = tempfile::Builder::new()
        .prefix("watch-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("a scratch directory");
    let copy = scratch.path().join("workspace");
    let target = scratch.path().join("target");
    fs::create_dir(&copy).expect("the copy's directory");
    for part in COPIED {
        copy_tree(&workspace_root().join(part), &copy.join(part));
    }
    for member in MEMBERS {
        give_own_version(&copy.join(member).join("Cargo.toml"));
    }
    for number in [1, 2] {
        let main = numbered(&copy, "exercises", number).join("main.rs");
        let text = fs::read_to_string(&main).expect("the exercise") + TYPE_ERROR;
        fs::write(&main, text).expect("the exercise is written");
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into());
    let in_copy = |command: &mut Command| {
        command
            .current_dir(&copy)
            .env("CARGO_TARGET_DIR", &target)
            .env("CARGO_BUILD_BUILD_DIR", real_build_dir())
            .env("CARGO", &cargo)
            .stdin(Stdio::null());
    };

    let mut build = Command::new(&cargo);
    build.args(["build", "-p", "checker", "--message-format=json"]);
    in_copy(&mut build);
    let built = run_bounded(build, deadline, "building the copy's checker");
    assert!(
        built.status.success(),
        "building the copy's checker failed:\n{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let checker = String::from_utf8_lossy(&built.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|message| {
            message["reason"] == "compiler-artifact" && message["target"]["name"] == "checker"
        })
        .find_map(|message| message["executable"].as_str().map(PathBuf::from))
        .expect("cargo names the checker's executable");

    let mut command = Command::new(checker);
    command.arg("watch");
    in_copy(&mut command);
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the watch starts");
    let lines = lines_of(&mut child);
    let mut watch = Watch {
        child,
        lines,
        stdout: Vec::new(),
        stderr: Vec::new(),
        deadline,
    };

    let first = watch.until("watching exercises/");
    if !first
        .iter()
        .any(|line| line.starts_with("✗ exercise 1") && line.contains("does not compile"))
    {
        watch.fail("exercise 1 is not reported as not compiling");
    }
    if !watch
        .stderr
        .iter()
        .any(|line| line.contains("error[E0308]"))
    {
        watch.fail("the compiler error is not shown");
    }

    let solved = numbered(&copy, "solutions", 1).join("main.rs");
    fs::copy(solved, numbered(&copy, "exercises", 1).join("main.rs"))
        .expect("the solution is saved over exercise 1");
    let second = watch.until("watching exercises/");
    let saw = |prefix: &str, words: &str| {
        second
            .iter()
            .any(|line| line.starts_with(prefix) && line.contains(words))
    };
    if !saw("checker watch: grading", "01-") {
        watch.fail("the run after the save does not name the saved file");
    }
    if !saw("✓ exercise 1", "rows pass") {
        watch.fail("exercise 1 does not pass after the save");
    }
    if !saw("✗ exercise 2", "does not compile") {
        watch.fail("the run does not move on to exercise 2");
    }

    let code = watch.stop();
    assert_eq!(
        code,
        Some(130),
        "Ctrl-C did not end the watch:\n{}",
        watch.printed()
    );
    let left = processes_running_from(&target);
    assert!(left.is_empty(), "left running after Ctrl-C: {left:?}");
}
