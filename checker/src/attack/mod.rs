//! Attack labs (`checker attack LAB`): the student writes the attack a
//! lesson defends against, and the checker proves it works against a
//! vulnerable server and fails against the defended one.
//!
//! A lab is two rows of the ordinary kind ([`Row`]), graded by the ordinary
//! runner and reported like every other row (text, `--format json`,
//! `--junit`): the first runs the attack against the vulnerable target (an
//! earlier solution, or a break of `testing/broken-server`) and passes when
//! the attack succeeds; the second runs it against the graded exercise
//! (the student's, or the solution with `--solutions`) and passes when the
//! attack fails. The rows find the attack (a built client, or a page) in
//! their `RunEnv`. Lab rows are not in [`crate::plan::ROWS`]: a plain
//! `checker` run grades servers, and a lab needs the student's attack.

mod attacker_site;
mod chromium;
mod client;
pub mod cswsh;
pub mod silent_listener;
pub mod ticket_race;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use crate::cargo::{self, Flavour};
use crate::checks::rooms::{BOARD_1, message};
use crate::client::{FRAME_LIMIT, Ws};
use crate::course::{self, Exercise};
use crate::exit_status::USAGE;
use crate::failure::Failure;
use crate::grade;
use crate::graded::{ExerciseReport, Graded, RowResult, Subject, Totals};
use crate::report::machine::{self, Format};
use crate::report::text::{self, Style};
use crate::rows::Row;
use crate::run_env::{Run, RunEnv};
use crate::server::Program;

/// One attack lab.
pub struct Lab {
    /// What `checker attack` takes.
    pub name: &'static str,
    /// The exercise whose chapter has the lab, and whose defence stops it.
    pub exercise: u8,
    pub title: &'static str,
    /// What the student writes.
    pub kind: Kind,
    /// The server the attack must succeed against.
    pub vulnerable: Target,
    /// Its two rows: the attack succeeds, then it is stopped.
    pub rows: &'static [Row],
}

/// What an attack is.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    /// A Rust client, this binary of package `attacks`; the solution's is
    /// `solution-<bin>` in package `solution-attacks`.
    Client { bin: &'static str },
    /// A web page (`page.html`) that a browser opens.
    Page,
}

/// A server an attack runs against.
#[derive(Clone, Copy, Debug)]
pub enum Target {
    /// The reference solution of this exercise.
    Solution(u8),
    /// `testing/broken-server`, with the break the row's settings name.
    BrokenServer,
}

pub static LABS: &[Lab] = &[
    Lab {
        name: "cswsh",
        exercise: 7,
        title: "Cross-site WebSocket hijacking",
        kind: Kind::Page,
        vulnerable: Target::Solution(6),
        rows: cswsh::ROWS,
    },
    Lab {
        name: "ticket-race",
        exercise: 8,
        title: "The ticket race",
        kind: Kind::Client {
            bin: "attack-ticket-race",
        },
        vulnerable: Target::BrokenServer,
        rows: ticket_race::ROWS,
    },
    Lab {
        name: "silent-listener",
        exercise: 9,
        title: "The silent listener",
        kind: Kind::Client {
            bin: "attack-silent-listener",
        },
        vulnerable: Target::Solution(8),
        rows: silent_listener::ROWS,
    },
];

/// A lab shows as its name (the command line's `Debug` of its arguments).
impl std::fmt::Debug for Lab {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.name)
    }
}

impl Lab {
    /// The attack's source file, relative to the workspace root.
    pub fn source(&self, flavour: Flavour) -> String {
        let dir = match flavour {
            Flavour::Exercises => "attacks",
            Flavour::Solutions => "solutions/attacks",
        };
        let file = match self.kind {
            Kind::Client { .. } => "main.rs",
            Kind::Page => "page.html",
        };
        format!("{dir}/{}/{file}", self.name)
    }

    /// `cargo run -p checker -- attack <name>`.
    pub fn command(&self) -> String {
        format!("cargo run -p checker -- attack {}", self.name)
    }

    fn exercise(&self) -> &'static Exercise {
        course::exercise(self.exercise).expect("a lab belongs to an exercise of the course")
    }
}

/// `checker attack`: which lab, whose attack, how to report.
#[derive(Args, Debug)]
pub struct AttackArgs {
    /// The lab: `cswsh` (exercise 7), `ticket-race` (exercise 8) or
    /// `silent-listener` (exercise 9).
    ///
    /// Example: `cargo run -p checker -- attack ticket-race`.
    #[arg(value_name = "LAB", value_parser = parse_lab)]
    pub lab: &'static Lab,

    /// Run the reference attack against the reference solution instead of
    /// yours against your exercise.
    ///
    /// Example: `cargo run -p checker -- attack ticket-race --solutions`.
    #[arg(long)]
    pub solutions: bool,

    /// Run this attack instead: a client's executable, or a page's file.
    ///
    /// For instructors grading an attack kept elsewhere, and for the tests,
    /// which show that an attack doing nothing fails every lab. Example:
    /// `cargo run -p checker -- attack ticket-race --attack /bin/true`.
    #[arg(long, value_name = "PATH")]
    pub attack: Option<PathBuf>,

    /// `text` for people; `json` prints one document instead.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,

    /// Also write JUnit XML to PATH, one test case per row.
    #[arg(long, value_name = "PATH")]
    pub junit: Option<std::path::PathBuf>,
}

fn parse_lab(name: &str) -> Result<&'static Lab, String> {
    LABS.iter().find(|lab| lab.name == name).ok_or_else(|| {
        let names: Vec<&str> = LABS.iter().map(|lab| lab.name).collect();
        format!("the attack labs are {}", names.join(", "))
    })
}

/// How long a target gets to print its listening line.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// `checker attack LAB`.
pub async fn run(args: &AttackArgs) -> u8 {
    let flavour = if args.solutions {
        Flavour::Solutions
    } else {
        Flavour::Exercises
    };
    let lab = args.lab;
    let text = args.format == Format::Text;
    let style = Style {
        verbose: false,
        stub: None,
        commands: None,
    };
    let print = |result: &RowResult| {
        if text {
            text::print_row(result, &style);
        }
    };
    let graded = match lab_results(lab, flavour, args.attack.clone(), text, print).await {
        Ok(results) => Graded::Rows(results),
        Err(message) => {
            if text {
                text::print_did_not_compile(&message, lab.rows.len());
            }
            Graded::DidNotCompile(message)
        }
    };
    let report = ExerciseReport {
        exercise: lab.exercise(),
        row_count: lab.rows.len(),
        graded,
        subject: Subject::AttackLab,
        binary: None,
        complete: true,
    };
    let reports = [report];
    let totals = Totals::of(&reports);
    if text && matches!(reports[0].graded, Graded::Rows(_)) {
        text::print_count(&totals);
    }
    match machine::finish(&reports, args.format, args.junit.as_deref()) {
        Ok(()) => totals.exit_code(),
        Err(message) => {
            eprintln!("error: {message}");
            USAGE
        }
    }
}

/// Builds `lab`'s attack of `flavour` (unless `given` one), its
/// vulnerable target and its defended exercise of `flavour`, and grades its
/// two rows, calling `each` with each result as it is graded; with
/// `heading`, prints a heading first. An error names what did not build.
pub async fn lab_results(
    lab: &Lab,
    flavour: Flavour,
    given: Option<PathBuf>,
    heading: bool,
    mut each: impl FnMut(&RowResult),
) -> Result<Vec<RowResult>, String> {
    let source = given
        .as_ref()
        .map_or_else(|| lab.source(flavour), |path| path.display().to_string());
    let attack = match given {
        Some(path) => path,
        None => build_attack(lab, flavour).await?,
    };
    let vulnerable = build_target(lab.vulnerable).await?;
    let defended = cargo::build(flavour, lab.exercise()).await?;
    let run = Run::new(START_TIMEOUT)
        .map_err(|error| format!("could not create a temporary directory: {error}"))?;
    let env = |program: PathBuf| {
        Arc::new(RunEnv::new(Program::Binary(program), &run).with_attack(attack.clone()))
    };
    let [succeeds, stopped] = lab.rows else {
        unreachable!("a lab has two rows")
    };
    if heading {
        text::print_heading(
            lab.exercise(),
            &format!("attack lab: {} ({source})", lab.title),
        );
    }
    let mut results = grade::grade(env(vulnerable), vec![succeeds], &mut each).await;
    results.extend(grade::grade(env(defended), vec![stopped], &mut each).await);
    Ok(results)
}

/// The built client, or the page (read again at each request, so an edit
/// needs no restart).
async fn build_attack(lab: &Lab, flavour: Flavour) -> Result<PathBuf, String> {
    let source = lab.source(flavour);
    match (lab.kind, flavour) {
        (Kind::Page, _) => {
            let page = cargo::workspace_root().join(&source);
            if page.is_file() {
                Ok(page)
            } else {
                Err(format!(
                    "{source} is missing: the lab serves it as the attacker's page"
                ))
            }
        }
        (Kind::Client { bin }, Flavour::Exercises) => {
            cargo::build_bin("attacks", bin, &source).await
        }
        (Kind::Client { bin }, Flavour::Solutions) => {
            let bin = format!("solution-{bin}");
            cargo::build_bin("solution-attacks", &bin, &source).await
        }
    }
}

async fn build_target(target: Target) -> Result<PathBuf, String> {
    match target {
        Target::Solution(number) => {
            let exercise = course::exercise(number).expect("a target is an exercise of the course");
            cargo::build(Flavour::Solutions, exercise).await
        }
        Target::BrokenServer => {
            cargo::build_bin("broken-server", "broken-server", "testing/broken-server").await
        }
    }
}

/// Bob, on the checker's socket, joins board-1, with however many viewers
/// it has (a removed or hijacking Alice may be among them).
async fn join_any(bob: &mut Ws) -> Result<(), Failure> {
    bob.send_json(&message("join", BOARD_1)).await?;
    loop {
        let event = bob.next_event(FRAME_LIMIT).await;
        match event.json() {
            Some(frame) if frame["type"] == "joined" && frame["boardId"] == BOARD_1 => {
                return Ok(());
            }
            Some(_) => {}
            None => {
                return Err(Failure::new(
                    "bob: join board-1",
                    "{\"type\":\"joined\",\"boardId\":\"board-1\",...}",
                    event.describe(),
                ));
            }
        }
    }
}

/// The lines `checker list` adds after the exercises: each lab, its
/// chapter, its starter and its command, in the exercises' columns.
pub fn list_lines() -> Vec<String> {
    LABS.iter()
        .map(|lab| {
            format!(
                "{:>2}  {:<34} book/src/{:<18} {:<38} {}",
                lab.exercise,
                format!("attack lab: {}", lab.name),
                lab.exercise().chapter,
                lab.source(Flavour::Exercises),
                lab.command()
            )
        })
        .collect()
}
