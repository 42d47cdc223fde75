//! The course: the one list of exercises everything else is derived from or
//! checked against.
//!
//! The command line's range of exercise numbers, the binaries the checker
//! builds, the files it points students to and the author checks all come
//! from [`EXERCISES`]. The `[[bin]]` lists of `exercises/` and `solutions/`,
//! the book's summary and tables and the README cannot be generated from
//! Rust, so a test (`checker/tests/course_list.rs`) checks each of them
//! against this list and names what is missing. Adding an exercise starts
//! here; `book/src/instructors.md` lists the rest.

/// One exercise of the workbook.
#[derive(Debug)]
pub struct Exercise {
    pub number: u8,
    /// The directory is `0N-<slug>` under `exercises/` and `solutions/`.
    pub slug: &'static str,
    pub title: &'static str,
    /// The book chapter that teaches it, a file under `book/src/`.
    pub chapter: &'static str,
}

impl Exercise {
    /// `0N-<slug>`: the exercise's directory under `exercises/` and `solutions/`.
    pub fn dir(&self) -> String {
        format!("{:02}-{}", self.number, self.slug)
    }
}

pub static EXERCISES: &[Exercise] = &[
    Exercise {
        number: 1,
        slug: "cookie-auth",
        title: "Cookie authentication",
        chapter: "cookie-upgrade.md",
    },
    Exercise {
        number: 2,
        slug: "rejections",
        title: "Rejecting unauthenticated sockets",
        chapter: "cookie-upgrade.md",
    },
    Exercise {
        number: 3,
        slug: "rooms",
        title: "Rooms and typing",
        chapter: "rooms.md",
    },
    Exercise {
        number: 4,
        slug: "token-in-url",
        title: "Token in the URL",
        chapter: "token-in-url.md",
    },
    Exercise {
        number: 5,
        slug: "first-message",
        title: "Token as the first message",
        chapter: "first-message.md",
    },
    Exercise {
        number: 6,
        slug: "close-codes",
        title: "Close codes",
        chapter: "close-codes.md",
    },
    Exercise {
        number: 7,
        slug: "origin-checks",
        title: "Origin checks",
        chapter: "origin-checks.md",
    },
    Exercise {
        number: 8,
        slug: "tickets",
        title: "Tickets and the bearer header",
        chapter: "tickets.md",
    },
    Exercise {
        number: 9,
        slug: "long-lived",
        title: "Long-lived sockets",
        chapter: "long-lived.md",
    },
    Exercise {
        number: 10,
        slug: "two-servers",
        title: "Two servers, one board",
        chapter: "two-servers.md",
    },
    Exercise {
        number: 11,
        slug: "under-attack",
        title: "Under attack",
        chapter: "under-attack.md",
    },
];

/// The book's chapters that rows and exercises point to, by file, with
/// their titles: a hint names both, so a student can find the section in the
/// rendered book or in `book/src/`. (The book's tests check the titles
/// against the files.)
pub static CHAPTERS: &[(&str, &str)] = &[
    ("contract.md", "Appendix: the contract"),
    (
        "cookie-upgrade.md",
        "Approach 1: the session cookie during the upgrade",
    ),
    ("rooms.md", "Rooms and typing"),
    ("token-in-url.md", "Approach 2: a token in the URL"),
    (
        "first-message.md",
        "Approach 3: the token as the first message",
    ),
    ("close-codes.md", "Close codes"),
    (
        "origin-checks.md",
        "Origin checks and cross-site WebSocket hijacking",
    ),
    (
        "tickets.md",
        "Approach 4: one-time tickets and the bearer header",
    ),
    ("long-lived.md", "Long-lived sockets"),
    ("two-servers.md", "Two servers, one board"),
    ("under-attack.md", "Under attack"),
];

/// The title of a chapter file, or the file itself when it has none here.
pub fn chapter_title(file: &str) -> &str {
    CHAPTERS
        .iter()
        .find(|(name, _)| *name == file)
        .map_or(file, |(_, title)| title)
}

/// Exercise `number`, if the course has it.
pub fn exercise(number: u8) -> Option<&'static Exercise> {
    EXERCISES.iter().find(|exercise| exercise.number == number)
}

/// The number of the last exercise.
pub fn last() -> u8 {
    EXERCISES.last().map_or(0, |exercise| exercise.number)
}

/// Parses an exercise number for the command line: one the course has.
pub fn parse_number(text: &str) -> Result<u8, String> {
    let last = last();
    text.parse::<u8>()
        .ok()
        .filter(|number| exercise(*number).is_some())
        .ok_or_else(|| format!("the exercises are numbered 1 to {last}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exercises_are_numbered_one_by_one_and_point_to_known_chapters() {
        for (index, exercise) in EXERCISES.iter().enumerate() {
            assert_eq!(usize::from(exercise.number), index + 1);
            assert_ne!(chapter_title(exercise.chapter), exercise.chapter);
        }
        assert_eq!(parse_number("1"), Ok(1));
        assert!(parse_number("0").is_err());
        assert!(parse_number(&(last() + 1).to_string()).is_err());
    }
}
