//! The table of everything the checker grades, and the exercises it grades.
//!
//! One row is one property of PROTOCOL. Its `exercise` says where it becomes
//! graded and `retired_after` where it stops being graded, so grading
//! exercise N runs exactly the rows with `exercise <= N` that are not
//! retired: an exercise keeps everything the ones before it built. Ids are
//! stable: the book, the tests and `--row` name rows by them.

use futures_util::future::BoxFuture;

use crate::checks::{
    Ctx, close_codes, contract, cookie_upgrade, first_message, origin_checks, rooms, token_in_url,
};
use crate::report::Failure;

/// A row's check: it gets the row's context and says what went wrong.
pub type Check = fn(Ctx) -> BoxFuture<'static, Result<(), Failure>>;

/// What the runner starts before the check runs.
#[derive(Debug)]
pub enum Setup {
    /// A fresh server on a fresh database, with these extra settings.
    Server(&'static [(&'static str, &'static str)]),
    /// The check starts (and restarts, or expects to fail) its servers itself.
    OwnServers,
}

pub struct Row {
    pub id: &'static str,
    pub exercise: u8,
    pub retired_after: Option<u8>,
    pub name: &'static str,
    /// `file#anchor` under `book/src/`.
    pub book: &'static str,
    pub setup: Setup,
    /// One sentence pointing at the usual cause of a failure.
    pub hint: &'static str,
    pub check: Check,
}

impl Row {
    /// The title of the chapter `book` points into.
    pub fn chapter_title(&self) -> &'static str {
        crate::course::chapter_title(self.book.split('#').next().unwrap_or(self.book))
    }

    /// Whether grading exercise `exercise` runs this row.
    pub fn graded_in(&self, exercise: u8) -> bool {
        self.exercise <= exercise && self.retired_after.is_none_or(|last| exercise <= last)
    }
}

/// Turns an `async fn(Ctx) -> Result<(), Failure>` into a [`Check`].
macro_rules! check {
    ($check:path) => {
        |ctx| Box::pin($check(ctx))
    };
}

const FRESH: Setup = Setup::Server(&[]);

pub static ROWS: &[Row] = &[
    // Exercise 1: the server basics and cookie authentication.
    Row {
        id: "server.listening",
        exercise: 1,
        retired_after: None,
        name: "prints `listening on http://127.0.0.1:PORT` first, with the real port",
        book: "contract.md#starting-a-server",
        setup: FRESH,
        hint: "Bind first (PORT=0 picks a free port), then print the bound address's port as the first stdout line and flush it.",
        check: check!(contract::listening),
    },
    Row {
        id: "server.bad-settings",
        exercise: 1,
        retired_after: None,
        name: "bad settings end the process with an error naming the setting",
        book: "contract.md#starting-a-server",
        setup: Setup::OwnServers,
        hint: "Parse every setting before binding and return an error naming it (not unwrap or expect, which panic) so main exits non-zero with that message on stderr.",
        check: check!(contract::bad_settings),
    },
    Row {
        id: "server.seeded",
        exercise: 1,
        retired_after: None,
        name: "the three seeded users can log in",
        book: "contract.md#seeded-data",
        setup: FRESH,
        hint: "Insert the seed users and boards at every start where they are missing, with hashed passwords.",
        check: check!(contract::seeded),
    },
    Row {
        id: "server.restart-keeps-data",
        exercise: 1,
        retired_after: None,
        name: "a restart keeps sessions and brings back a deleted seed user",
        book: "contract.md#the-database",
        setup: Setup::OwnServers,
        hint: "Keep sessions in the DATABASE_PATH file, not in memory, and seed with inserts that skip existing rows instead of failing or replacing them.",
        check: check!(contract::restart_keeps_data),
    },
    Row {
        id: "login.ok",
        exercise: 1,
        retired_after: None,
        name: "POST /api/login returns the user",
        book: "contract.md#http-api",
        setup: FRESH,
        hint: "Answer 200 with {\"user\":{\"id\",\"name\"}} and set the session cookie.",
        check: check!(contract::login_ok),
    },
    Row {
        id: "login.cookie",
        exercise: 1,
        retired_after: None,
        name: "the session cookie is HttpOnly, SameSite=Lax, Path=/",
        book: "cookie-upgrade.md#the-session-cookie",
        setup: FRESH,
        hint: "Build the Set-Cookie header as session=<id>; Path=/; HttpOnly; SameSite=Lax.",
        check: check!(cookie_upgrade::login_cookie),
    },
    Row {
        id: "login.random-ids",
        exercise: 1,
        retired_after: None,
        name: "session ids are random, not derived from the user",
        book: "cookie-upgrade.md#the-session-cookie",
        setup: FRESH,
        hint: "Make session ids from at least 16 random bytes of a CSPRNG, encoded, never from the user's name or id.",
        check: check!(cookie_upgrade::random_ids),
    },
    Row {
        id: "login.wrong-credentials",
        exercise: 1,
        retired_after: None,
        name: "wrong password or unknown user → 401 Invalid credentials",
        book: "contract.md#http-api",
        setup: FRESH,
        hint: "Answer both an unknown user and a wrong password with the same 401 {\"error\":\"Invalid credentials\"}.",
        check: check!(contract::wrong_credentials),
    },
    Row {
        id: "login.malformed",
        exercise: 1,
        retired_after: None,
        name: "a malformed login body → 400 with an error",
        book: "contract.md#http-api",
        setup: FRESH,
        hint: "Turn every rejection of the JSON extractor (bad JSON, missing or mistyped field, missing Content-Type) into 400 with a JSON {\"error\": ...} body.",
        check: check!(contract::malformed_login),
    },
    Row {
        id: "me.ok",
        exercise: 1,
        retired_after: None,
        name: "GET /api/me returns the logged-in user",
        book: "contract.md#http-api",
        setup: FRESH,
        hint: "Read the session cookie, look the session and its user up in the database and answer {\"user\":{\"id\",\"name\"}}.",
        check: check!(contract::me_ok),
    },
    Row {
        id: "me.unauthorized",
        exercise: 1,
        retired_after: None,
        name: "GET /api/me without a valid session → 401",
        book: "contract.md#http-api",
        setup: FRESH,
        hint: "A missing cookie and an unknown session id both get 401 {\"error\":\"Unauthorized\"}.",
        check: check!(contract::me_unauthorized),
    },
    Row {
        id: "ws.cookie",
        exercise: 1,
        retired_after: None,
        name: "a cookie upgrade is answered with the authenticated frame",
        book: "cookie-upgrade.md#reading-the-cookie-in-the-upgrade",
        setup: FRESH,
        hint: "Read the session cookie from the upgrade request's headers, look the user up, and send {\"type\":\"authenticated\",\"user\":U} first.",
        check: check!(cookie_upgrade::cookie_socket),
    },
    // Exercise 2: rejecting unauthenticated sockets.
    Row {
        id: "ws.no-credential",
        exercise: 2,
        // From exercise 5 on a socket without credentials waits for its auth
        // frame instead (the first-message rows grade that).
        retired_after: Some(4),
        name: "a socket without credentials gets Unauthorized and close 4001",
        book: "cookie-upgrade.md#rejecting-a-socket",
        setup: FRESH,
        hint: "Accept the upgrade, then send {\"error\":\"Unauthorized\"} and close with 4001 'Unauthorized'.",
        check: check!(cookie_upgrade::no_credential),
    },
    Row {
        id: "ws.unknown-session",
        exercise: 2,
        retired_after: None,
        name: "an unknown or empty session id gets Invalid session and close 4001",
        book: "cookie-upgrade.md#rejecting-a-socket",
        setup: FRESH,
        hint: "A session cookie that is present but unknown (or empty) is Invalid session, not Unauthorized: send the frame, then close 4001.",
        check: check!(cookie_upgrade::unknown_session),
    },
    Row {
        id: "ws.deleted-user",
        exercise: 2,
        retired_after: None,
        name: "a session whose user was deleted is closed 4001 User not found",
        book: "cookie-upgrade.md#rejecting-a-socket",
        setup: FRESH,
        hint: "Look the user up in the database at connect time; when the row is gone, close 4001 'User not found'.",
        check: check!(cookie_upgrade::deleted_user),
    },
    // Exercise 3: rooms and typing.
    Row {
        id: "rooms.join",
        exercise: 3,
        retired_after: None,
        name: "join answers joined and tells the others, viewers count sockets",
        book: "rooms.md#joining-a-board",
        setup: FRESH,
        hint: "Add the socket to the board, answer joined with the board's socket count, and send user_joined to every other socket in it.",
        check: check!(rooms::join_board),
    },
    Row {
        id: "rooms.join-again",
        exercise: 3,
        retired_after: None,
        name: "joining again answers joined and tells nobody",
        book: "rooms.md#joining-a-board",
        setup: FRESH,
        hint: "When the socket is already in the board, answer joined again without adding it twice or telling the others.",
        check: check!(rooms::join_again),
    },
    Row {
        id: "rooms.viewers-count-sockets",
        exercise: 3,
        retired_after: None,
        name: "two sockets of one user count as two viewers and hear each other",
        book: "rooms.md#joining-a-board",
        setup: FRESH,
        hint: "Key board membership by socket, not by user: a second socket of the same user is another viewer and hears the first.",
        check: check!(rooms::viewers_count_sockets),
    },
    Row {
        id: "rooms.typing",
        exercise: 3,
        retired_after: None,
        name: "typing reaches the others in the board only",
        book: "rooms.md#typing",
        setup: FRESH,
        hint: "Send user_typing to every socket of the board except the sender, and to no socket outside the board.",
        check: check!(rooms::typing),
    },
    Row {
        id: "rooms.typing-not-joined",
        exercise: 3,
        retired_after: None,
        name: "typing in a board not joined → Not in board, socket stays open",
        book: "rooms.md#typing",
        setup: FRESH,
        hint: "Answer {\"error\":\"Not in board\"} and keep the socket open.",
        check: check!(rooms::typing_not_joined),
    },
    Row {
        id: "rooms.leave",
        exercise: 3,
        retired_after: None,
        name: "leave tells the others user_left, the sender hears nothing",
        book: "rooms.md#leaving-and-closing",
        setup: FRESH,
        hint: "Remove the socket from the board and send user_left with the new count to the others only; a board not joined is Not in board.",
        check: check!(rooms::leave),
    },
    Row {
        id: "rooms.close",
        exercise: 3,
        retired_after: None,
        name: "closing a socket sends user_left to its boards",
        book: "rooms.md#leaving-and-closing",
        setup: FRESH,
        hint: "When a socket's loop ends, for whatever reason, remove it from every board it joined and tell the others.",
        check: check!(rooms::close),
    },
    Row {
        id: "messages.invalid-json",
        exercise: 3,
        retired_after: None,
        name: "text that is not JSON, or a binary frame → Invalid JSON, socket stays open",
        book: "rooms.md#bad-messages",
        setup: FRESH,
        hint: "Answer {\"error\":\"Invalid JSON\"} for unparsable text and for every binary frame, and keep reading.",
        check: check!(rooms::invalid_json),
    },
    Row {
        id: "messages.invalid-message",
        exercise: 3,
        retired_after: None,
        name: "join/typing/leave without a string boardId → Invalid message",
        book: "rooms.md#bad-messages",
        setup: FRESH,
        hint: "After reading the type, a join, typing or leave whose boardId is missing or not a string gets {\"error\":\"Invalid message\"}.",
        check: check!(rooms::invalid_message),
    },
    Row {
        id: "messages.unknown-type",
        exercise: 3,
        retired_after: None,
        name: "JSON without a known type → Unknown message type",
        book: "rooms.md#bad-messages",
        setup: FRESH,
        hint: "JSON whose type is missing or not one you know gets {\"error\":\"Unknown message type\"}; the socket stays open.",
        check: check!(rooms::unknown_type),
    },
    // Exercise 4: token in the URL.
    Row {
        id: "tokens.issue",
        exercise: 4,
        retired_after: None,
        name: "POST /api/tokens issues a random token (201), 401 without a session",
        book: "token-in-url.md#issuing-tokens",
        setup: FRESH,
        hint: "Require a valid session, store a new random token for its user and answer 201 {\"token\": ...}.",
        check: check!(token_in_url::issue),
    },
    Row {
        id: "ws.token",
        exercise: 4,
        retired_after: None,
        name: "/ws?token= is answered with the authenticated frame",
        book: "token-in-url.md#reading-the-token",
        setup: FRESH,
        hint: "Read the token query parameter of the upgrade, look up its user and send the authenticated frame.",
        check: check!(token_in_url::token_socket),
    },
    Row {
        id: "ws.token-wins",
        exercise: 4,
        retired_after: None,
        name: "a token parameter wins over a cookie and never falls back to it",
        book: "token-in-url.md#reading-the-token",
        setup: FRESH,
        hint: "Decide the approach from the request first (a token parameter, even empty, means token) and never try the cookie after a bad token.",
        check: check!(token_in_url::token_wins),
    },
    Row {
        id: "ws.token-invalid",
        exercise: 4,
        retired_after: None,
        name: "an unknown or empty token gets Invalid token and close 4001",
        book: "token-in-url.md#reading-the-token",
        setup: FRESH,
        hint: "An unknown or empty token gets {\"error\":\"Invalid token\"}, then close 4001 'Invalid token'.",
        check: check!(token_in_url::token_invalid),
    },
    Row {
        id: "logs.token-redacted",
        exercise: 4,
        retired_after: None,
        name: "the request log shows token=[redacted], never the token",
        book: "token-in-url.md#tokens-leak-through-urls",
        setup: FRESH,
        hint: "Redact the token parameter before the request line is logged, for valid and invalid tokens alike.",
        check: check!(token_in_url::token_redacted),
    },
    // Exercise 5: token as the first message.
    Row {
        id: "first-message.auth",
        exercise: 5,
        retired_after: None,
        name: "an auth frame as the first message authenticates",
        book: "first-message.md#the-auth-frame",
        setup: FRESH,
        hint: "With no cookie and no token, read one frame first: {\"type\":\"auth\",\"token\":T} with a known token authenticates.",
        check: check!(first_message::auth_frame),
    },
    Row {
        id: "first-message.in-order",
        exercise: 5,
        retired_after: None,
        name: "frames sent right after the auth frame are handled in order",
        book: "first-message.md#the-auth-frame",
        setup: FRESH,
        hint: "Read the auth frame from the same stream the message loop reads afterwards, so a frame that arrives right behind it is not lost.",
        check: check!(first_message::in_order),
    },
    Row {
        id: "first-message.not-auth",
        exercise: 5,
        retired_after: None,
        name: "any other first frame closes 4001 Unauthorized and is not acted on",
        book: "first-message.md#the-unauthenticated-window",
        setup: FRESH,
        hint: "Until the auth frame succeeded nothing is handled: any other first frame closes 4001 'Unauthorized'.",
        check: check!(first_message::not_auth),
    },
    Row {
        id: "first-message.not-json",
        exercise: 5,
        retired_after: None,
        name: "a first frame that is not JSON closes 4001 Unauthorized",
        book: "first-message.md#the-unauthenticated-window",
        setup: FRESH,
        hint: "Before authentication a frame that does not parse is not Invalid JSON: close 4001 'Unauthorized'.",
        check: check!(first_message::not_json),
    },
    Row {
        id: "first-message.wrong-token",
        exercise: 5,
        retired_after: None,
        name: "a wrong token in the auth frame closes 4001 Invalid token",
        book: "first-message.md#the-auth-frame",
        setup: FRESH,
        hint: "An auth frame with an unknown token closes 4001 'Invalid token'.",
        check: check!(first_message::wrong_token),
    },
    Row {
        id: "first-message.timeout",
        exercise: 5,
        retired_after: None,
        name: "silence closes 4001 Authentication timeout after AUTH_TIMEOUT_MS",
        book: "first-message.md#the-timeout",
        setup: Setup::Server(&[("AUTH_TIMEOUT_MS", "300")]),
        hint: "Wrap the wait for the first frame in a timeout of AUTH_TIMEOUT_MS and close 4001 'Authentication timeout' when it fires.",
        check: check!(first_message::timeout),
    },
    Row {
        id: "server.bad-auth-timeout",
        exercise: 5,
        retired_after: None,
        name: "a bad AUTH_TIMEOUT_MS ends the process with an error naming it",
        book: "contract.md#starting-a-server",
        setup: Setup::OwnServers,
        hint: "Parse AUTH_TIMEOUT_MS like the other settings: a plain integer from 1 to 3600000, or an error naming it.",
        check: check!(first_message::bad_auth_timeout),
    },
    // Exercise 6: close codes.
    Row {
        id: "expiry.at-connect",
        exercise: 6,
        retired_after: None,
        name: "an expired session gets Session expired and close 4002",
        book: "close-codes.md#expired-sessions",
        setup: FRESH,
        hint: "Compare the session's expires_at with the clock at connect time: expired sessions get Session expired and 4002, not 4001.",
        check: check!(close_codes::expired_at_connect),
    },
    Row {
        id: "expiry.while-connected",
        exercise: 6,
        retired_after: None,
        name: "a session reaching its TTL closes its sockets 4002 within 1 s, token sockets stay",
        book: "close-codes.md#expired-sessions",
        setup: Setup::Server(&[("SESSION_TTL_SECS", "1")]),
        hint: "Give each cookie socket a timer for its session's expires_at (checked at least once a second) that closes it 4002 'Session expired'.",
        check: check!(close_codes::expired_while_connected),
    },
    Row {
        id: "logout.ok",
        exercise: 6,
        retired_after: None,
        name: "POST /api/logout → 204, clears the cookie; 401 without a session",
        book: "close-codes.md#logging-out",
        setup: FRESH,
        hint: "Delete the session row, answer 204 with session=; Path=/; Max-Age=0, and 401 when there is no valid session.",
        check: check!(close_codes::logout_ok),
    },
    Row {
        id: "logout.closes-sockets",
        exercise: 6,
        retired_after: None,
        name: "logging out closes that session's sockets 4002 within 1 s",
        book: "close-codes.md#logging-out",
        setup: FRESH,
        hint: "Tell the sockets of exactly that session (not every socket of the user) to close 4002 'Session expired'.",
        check: check!(close_codes::logout_closes_sockets),
    },
    Row {
        id: "rooms.forbidden",
        exercise: 6,
        retired_after: None,
        name: "joining a board the user may not see → Forbidden and close 4003",
        book: "close-codes.md#forbidden-boards",
        setup: FRESH,
        hint: "Check board membership in the database on join; a non-member or an unknown board gets Forbidden and 4003.",
        check: check!(close_codes::forbidden),
    },
    Row {
        id: "close.normal",
        exercise: 6,
        retired_after: None,
        name: "a client close 1000 is answered with close 1000",
        book: "close-codes.md#normal-closure",
        setup: FRESH,
        hint: "When the client closes, answer its close frame with 1000 instead of dropping the connection.",
        check: check!(close_codes::normal_close),
    },
    Row {
        id: "close.too-big",
        exercise: 6,
        retired_after: None,
        name: "a message over 64 KiB closes 1009",
        book: "close-codes.md#messages-too-big",
        setup: FRESH,
        hint: "Set the upgrade's maximum message size to 65,536 bytes and close 1009 when a message exceeds it.",
        check: check!(close_codes::too_big),
    },
    Row {
        id: "shutdown.going-away",
        exercise: 6,
        retired_after: None,
        name: "on SIGTERM every socket gets 1001 Server shutting down and the process exits 0 within 2 s",
        book: "close-codes.md#shutting-down",
        setup: FRESH,
        hint: "On SIGTERM stop accepting, tell every socket (auth-pending ones too) to close 1001 'Server shutting down', and return from main.",
        check: check!(close_codes::going_away),
    },
    // Exercise 7: origin checks.
    Row {
        id: "origin.foreign",
        exercise: 7,
        retired_after: None,
        name: "a cookie upgrade from a foreign Origin is refused with 403",
        book: "origin-checks.md#refusing-foreign-origins",
        setup: FRESH,
        hint: "Before looking at the session, compare the Origin of a cookie upgrade with the allowed ones and answer 403 {\"error\":\"Forbidden origin\"}.",
        check: check!(origin_checks::foreign),
    },
    Row {
        id: "origin.own",
        exercise: 7,
        retired_after: None,
        name: "the server's own origins and no Origin are accepted",
        book: "origin-checks.md#own-and-allowed-origins",
        setup: FRESH,
        hint: "Allow http://127.0.0.1:PORT and http://localhost:PORT with the real port, compared case-insensitively, and requests without an Origin.",
        check: check!(origin_checks::own),
    },
    Row {
        id: "origin.allowed",
        exercise: 7,
        retired_after: None,
        name: "origins listed in ALLOWED_ORIGINS are accepted",
        book: "origin-checks.md#own-and-allowed-origins",
        setup: Setup::Server(&[(
            "ALLOWED_ORIGINS",
            " https://app.example/ ,http://other.test:8080",
        )]),
        hint: "Split ALLOWED_ORIGINS on commas, trim spaces and a trailing /, and compare scheme, host and port exactly (case aside).",
        check: check!(origin_checks::allowed),
    },
    Row {
        id: "origin.token-exempt",
        exercise: 7,
        retired_after: None,
        name: "token and credential-less upgrades are not origin-checked",
        book: "origin-checks.md#token-sockets",
        setup: FRESH,
        hint: "Check the Origin only for cookie upgrades: a token parameter or no credential at all skips the check.",
        check: check!(origin_checks::token_exempt),
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_unique_and_exercises_valid() {
        let mut seen = HashSet::new();
        for row in ROWS {
            assert!(seen.insert(row.id), "duplicate id {}", row.id);
            assert!((1..=7).contains(&row.exercise), "{}", row.id);
            assert!(row.book.contains(".md#"), "{}", row.id);
        }
    }

    #[test]
    fn only_the_no_credential_row_retires() {
        let retired: Vec<_> = ROWS
            .iter()
            .filter(|row| row.retired_after.is_some())
            .map(|row| row.id)
            .collect();
        assert_eq!(retired, ["ws.no-credential"]);
        let row = ROWS
            .iter()
            .find(|row| row.id == "ws.no-credential")
            .unwrap();
        assert!(!row.graded_in(1));
        assert!(row.graded_in(2) && row.graded_in(4));
        assert!(!row.graded_in(5) && !row.graded_in(7));
    }

    #[test]
    fn rows_are_grouped_by_exercise() {
        assert!(
            ROWS.windows(2)
                .all(|pair| pair[0].exercise <= pair[1].exercise)
        );
    }
}
