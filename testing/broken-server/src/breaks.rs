//! Every break the server knows, and which one this run makes.
//!
//! One table, so that `BREAK_ROW` can be checked against it at start (a typo
//! must not pass unnoticed) and a maintainer sees every mistake in one place;
//! each break is then one `broken("row")` test at the place that decides it.

use std::sync::OnceLock;

/// The pseudo-row of the robustness test: upgrade, then silence.
pub(crate) const HANG: &str = "hang-after-upgrade";

/// Every break this server knows: the row it fails and the mistake it makes.
/// An unknown `BREAK_ROW` stops the server, so a typo cannot pass unnoticed.
pub(crate) const BREAKS: &[(&str, &str)] = &[
    (
        "server.listening",
        "prints the PORT it was asked for (0), not the bound one",
    ),
    (
        "server.bad-settings",
        "a bad SESSION_TTL_SECS falls back to the default",
    ),
    ("server.seeded", "Carol is not seeded"),
    (
        "server.restart-keeps-data",
        "drops the sessions table at every start",
    ),
    (
        "login.ok",
        "the login body is the bare user, without {\"user\": ...}",
    ),
    ("login.cookie", "the session cookie lacks HttpOnly"),
    ("login.random-ids", "session ids start with the user id"),
    (
        "login.wrong-credentials",
        "an unknown user gets 401 \"Unknown user\"",
    ),
    (
        "login.malformed",
        "a login without Content-Type is taken as JSON",
    ),
    (
        "me.ok",
        "/api/me answers the bare user, without {\"user\": ...}",
    ),
    (
        "me.unauthorized",
        "/api/me without a cookie answers 401 in plain text, not JSON",
    ),
    (
        "ws.cookie",
        "a cookie socket's authenticated frame shows the name in lower case",
    ),
    (
        "ws.cookie-own-user",
        "a cookie socket is greeted as the last user who logged in anywhere",
    ),
    (
        "ws.no-credential",
        "closes 4001 'Unauthorized' without the error frame",
    ),
    (
        "ws.unknown-session",
        "an unknown session is closed 1000, not 4001",
    ),
    (
        "ws.deleted-user",
        "a deleted user is answered as an invalid session",
    ),
    (
        "rooms.join",
        "the others in the board never hear user_joined",
    ),
    (
        "rooms.join-again",
        "joining again announces user_joined again",
    ),
    (
        "rooms.viewers-count-sockets",
        "viewers counts users, not sockets",
    ),
    (
        "rooms.typing",
        "typing reaches every board, not just its own",
    ),
    (
        "rooms.typing-not-joined",
        "typing in a board not joined reads the membership first: a board the user may not see gets Forbidden",
    ),
    ("rooms.leave", "the leaver hears its own user_left"),
    ("rooms.close", "a closing socket leaves no board"),
    ("messages.invalid-json", "binary frames are ignored"),
    (
        "messages.invalid-message",
        "a missing boardId is an unknown message type",
    ),
    (
        "messages.unknown-type",
        "JSON without a type is an invalid message",
    ),
    (
        "tokens.issue",
        "POST /api/tokens without a session answers 403",
    ),
    ("ws.token", "the token query parameter is not read"),
    ("ws.token-wins", "a bad token falls back to the cookie"),
    (
        "ws.token-invalid",
        "an empty token without a cookie counts as no credential",
    ),
    ("ws.token-first", "the last token parameter counts"),
    (
        "logs.token-redacted",
        "every request with a query is logged raw",
    ),
    (
        "first-message.auth",
        "the auth frame's token is looked up as a session id",
    ),
    (
        "first-message.in-order",
        "frames behind the auth frame are dropped",
    ),
    (
        "first-message.not-auth",
        "a JSON first frame that is not auth gets an error, the socket stays",
    ),
    (
        "first-message.not-json",
        "a non-JSON first frame gets Invalid JSON, the socket stays",
    ),
    (
        "first-message.wrong-token",
        "a wrong first-message token closes 'Unauthorized'",
    ),
    (
        "first-message.timeout",
        "the auth timeout is 5 s whatever AUTH_TIMEOUT_MS says",
    ),
    (
        "server.bad-auth-timeout",
        "a bad AUTH_TIMEOUT_MS falls back to the default",
    ),
    (
        "expiry.at-connect",
        "an expired session is accepted at connect",
    ),
    (
        "expiry.while-connected",
        "only a logout ends a connected session",
    ),
    (
        "expiry.hour-old",
        "sessions expired more than ten minutes ago are purged",
    ),
    (
        "expiry.expires-at",
        "without SESSION_TTL_SECS, sessions last an hour",
    ),
    ("logout.ok", "logout does not clear the cookie"),
    (
        "logout.closes-sockets",
        "a logout leaves the session's sockets open",
    ),
    ("rooms.forbidden", "board membership is not checked"),
    ("rooms.members", "board-2 is seeded without Alice"),
    (
        "rooms.close-by-server",
        "only a close by the client leaves the socket's boards",
    ),
    (
        "tokens.survive-logout",
        "logout also revokes the tokens its session issued",
    ),
    ("close.normal", "a client's close is not answered"),
    ("close.too-big", "no limit on message size"),
    (
        "shutdown.going-away",
        "sockets still waiting for auth are not closed on shutdown",
    ),
    (
        "origin.foreign",
        "own origins are matched without their port",
    ),
    ("origin.own", "origins are compared case-sensitively"),
    ("origin.allowed", "ALLOWED_ORIGINS is ignored"),
    (
        "origin.token-exempt",
        "every upgrade with a foreign Origin is refused",
    ),
    (
        "server.bad-ticket-ttl",
        "a bad TICKET_TTL_SECS falls back to the default",
    ),
    (
        "tickets.issue",
        "POST /api/ws-ticket without a session still mints a ticket",
    ),
    ("tickets.once", "a ticket is read, never used up"),
    (
        "tickets.invalid",
        "an empty ticket counts as none: the cookie is tried",
    ),
    ("tickets.expired", "a ticket's expiry is never checked"),
    (
        "tickets.session-ended",
        "a ticket remembers its user, not its session",
    ),
    (
        "tickets.race",
        "a ticket is read, then deleted a moment later",
    ),
    (
        "tickets.logout-closes",
        "a ticket socket does not belong to its session",
    ),
    (
        "bearer.ok",
        "the Bearer scheme is compared case-sensitively",
    ),
    (
        "bearer.invalid",
        "the 401 for a bad header lacks WWW-Authenticate",
    ),
    (
        "bearer.basic-ignored",
        "any Authorization header is a bearer attempt: Basic gets 401",
    ),
    (
        "logs.ticket-redacted",
        "ticket upgrades are logged with their raw URL",
    ),
    (
        "origin.ticket-exempt",
        "ticket and bearer upgrades are Origin-checked too",
    ),
    (
        "origin.basic-checked",
        "any Authorization header exempts a cookie upgrade from the Origin check",
    ),
    ("page.served", "the page loads its script from a CDN"),
    (
        "server.bad-limit-settings",
        "a bad MESSAGE_RATE falls back to the default",
    ),
    (
        "heartbeat.pings",
        "silent sockets are dropped, but never pinged",
    ),
    (
        "heartbeat.silent-dropped",
        "a silent socket is never dropped: only TCP ends it",
    ),
    (
        "heartbeat.answering-kept",
        "a pong is not counted as hearing from the client",
    ),
    (
        "recheck.deleted-user",
        "the user is read only at the upgrade",
    ),
    (
        "recheck.membership",
        "membership is checked only when joining",
    ),
    (
        "recheck.listener-user",
        "the ping tick does not read the user again",
    ),
    (
        "recheck.listener-membership",
        "the ping tick does not read the memberships again",
    ),
    (
        "recheck.listener-session",
        "the ping tick does not read the session again",
    ),
    (
        "limits.sockets-per-user",
        "a socket claims its place after the greeting",
    ),
    (
        "limits.message-rate",
        "one message over the rate closes the socket 1008",
    ),
    (
        "server.bad-redis-url",
        "a Redis that cannot be used is warned about; the process works alone",
    ),
    (
        "server.redis-password",
        "a refused REDIS_URL is printed whole, password and all",
    ),
    (
        "server.bad-hostile-settings",
        "a bad LOGIN_CONCURRENCY falls back to the default",
    ),
    (
        "shutdown.every-socket",
        "a queue that overflows during shutdown is answered 1013, not 1001",
    ),
    (
        "cluster.outage-local",
        "a socket's loop waits for the bus as long as Redis takes",
    ),
    (
        "cluster.outage-recovers",
        "after one failed bus command, the process leaves the bus alone for good",
    ),
    (
        "requests.slow-headers",
        "requests are given ten minutes, whatever REQUEST_TIMEOUT_MS says",
    ),
    (
        "requests.stalled-body",
        "a body is read for as long as it takes",
    ),
    (
        "protocol.bad-frames",
        "a client's unmasked frame is taken as if it were masked",
    ),
    (
        "protocol.bad-utf8",
        "a connection that breaks the protocol just ends, without a close frame",
    ),
    ("upgrade.bad-key", "any Sec-WebSocket-Key is taken"),
    (
        "db.locked",
        "a locked database is answered 500 Internal error",
    ),
    (
        "flood.bounded",
        "every password check runs at once, as many as are asked for",
    ),
    (
        "flood.busy",
        "a login waits for a place among the checks as long as it takes",
    ),
    (
        "cluster.rooms",
        "room events are never published on the bus",
    ),
    (
        "cluster.viewers",
        "viewers counts only this process's sockets",
    ),
    (
        "cluster.only-the-board",
        "a process delivers its own messages again when the bus brings them back",
    ),
    (
        "cluster.ticket",
        "a ticket is accepted only by the process that minted it",
    ),
    ("cluster.logout", "a logout is never published on the bus"),
    ("logs.refused-token", "a refused token is logged in full"),
    (
        "first-message.binary",
        "a binary first frame is skipped while waiting for the auth frame",
    ),
    (
        "first-message.timeout-cancelled",
        "the auth timer keeps running after the auth frame, and closes the socket",
    ),
    (
        "tickets.expiry-closes",
        "only a logout ends a ticket socket, never its session's expiry",
    ),
    (
        "heartbeat.messages-kept",
        "only a pong counts as hearing from the client",
    ),
    (
        "limits.rate-per-socket",
        "one user's sockets share one message bucket",
    ),
    (
        "limits.rate-every-frame",
        "only frames that parse as JSON take a token",
    ),
    (
        "limits.limited-not-acted-on",
        "a rate-limited message is answered Rate limited, then acted on",
    ),
    (
        "limits.sockets-across-sessions",
        "sockets are counted per session, not per user",
    ),
    (HANG, "accepts the upgrade, then sends nothing, ever"),
];

pub(crate) static ACTIVE: OnceLock<Option<&'static str>> = OnceLock::new();

/// The row this run breaks, if any.
pub(crate) fn active() -> Option<&'static str> {
    ACTIVE.get().copied().flatten()
}

pub(crate) fn broken(row: &str) -> bool {
    active() == Some(row)
}
