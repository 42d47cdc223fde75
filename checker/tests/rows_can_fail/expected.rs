//! What each row's failure report must say when the broken server breaks
//! that row: one entry per row of the checker, kept apart from the test
//! that runs them because it grows with every row.

/// For each row, text its failure report must contain when the broken server
/// breaks that row: the row's own expectation (and, where the expectation
/// alone is shared by other ways to fail, what the break produces).
pub(crate) const EXPECTED: &[(&str, &[&str])] = &[
    (
        "server.listening",
        &["expected: `listening on http://127.0.0.1:PORT` as the first stdout line"],
    ),
    (
        "server.bad-settings",
        &["a last stderr line naming SESSION_TTL_SECS"],
    ),
    (
        "server.seeded",
        &[r#"expected: 200 {"user":{"id":"user-carol","name":"Carol"}}"#],
    ),
    (
        "server.restart-keeps-data",
        &[
            "after a restart on the same DATABASE_PATH",
            "(the session survives the restart)",
        ],
    ),
    (
        "login.ok",
        &[
            "request: POST /api/login",
            r#"expected: 200 {"user":{"id":"user-"#,
        ],
    ),
    (
        "login.cookie",
        &["expected: Set-Cookie: session=<id>; Path=/; HttpOnly; SameSite=Lax"],
    ),
    (
        "login.random-ids",
        &["expected: session ids that contain neither the username nor the user id"],
    ),
    (
        "login.wrong-credentials",
        &[r#"expected: 401 {"error":"Invalid credentials"}"#],
    ),
    (
        "login.malformed",
        &[r#"expected: 400 {"error":"<message>"}"#],
    ),
    (
        "me.ok",
        &[
            "request: GET /api/me, Cookie: session=",
            r#"expected: 200 {"user":"#,
        ],
    ),
    (
        "me.unauthorized",
        &[
            "request: GET /api/me\n",
            r#"expected: 401 {"error":"Unauthorized"}"#,
        ],
    ),
    (
        "ws.cookie",
        &[
            "GET /ws, Cookie: session=",
            r#"expected: frame {"type":"authenticated""#,
        ],
    ),
    (
        "ws.cookie-own-user",
        &[
            "logged in): GET /ws, Cookie: session=",
            r#"expected: frame {"type":"authenticated""#,
        ],
    ),
    (
        "ws.no-credential",
        &[
            r#"expected: frame {"error":"Unauthorized"}"#,
            "got: close 4001 'Unauthorized'",
        ],
    ),
    (
        "ws.unknown-session",
        &["expected: close 4001 'Invalid session'"],
    ),
    (
        "ws.deleted-user",
        &["expected: close 4001 'User not found'"],
    ),
    ("rooms.join", &[r#"expected: frame {"type":"user_joined""#]),
    (
        "rooms.join-again",
        &[
            "expected: the probe's answer",
            r#"got: frame {"type":"user_joined""#,
        ],
    ),
    (
        "rooms.viewers-count-sockets",
        &[r#"expected: frame {"boardId":"board-1","type":"joined","viewers":2}"#],
    ),
    (
        "rooms.typing",
        &["request: carol: ", r#"got: frame {"type":"user_typing""#],
    ),
    (
        "rooms.typing-not-joined",
        &[
            r#"bob → {"boardId":"board-2","type":"typing"}"#,
            r#"expected: frame {"error":"Not in board"}"#,
        ],
    ),
    (
        "rooms.leave",
        &[
            "expected: the probe's answer",
            r#"got: frame {"type":"user_left""#,
        ],
    ),
    ("rooms.close", &[r#"expected: frame {"type":"user_left""#]),
    (
        "messages.invalid-json",
        &[
            "then sent binary",
            r#"expected: frame {"error":"Invalid JSON"}"#,
        ],
    ),
    (
        "messages.invalid-message",
        &[r#"expected: frame {"error":"Invalid message"}"#],
    ),
    (
        "messages.unknown-type",
        &[r#"expected: frame {"error":"Unknown message type"}"#],
    ),
    (
        "tokens.issue",
        &[
            "request: POST /api/tokens",
            r#"expected: 401 {"error":"Unauthorized"}"#,
        ],
    ),
    (
        "ws.token",
        &[
            "GET /ws?token=",
            r#"expected: frame {"type":"authenticated""#,
        ],
    ),
    (
        "ws.token-wins",
        &[
            "a bad token and ",
            "'s cookie: GET /ws?token=",
            "Cookie: session=",
            r#"expected: frame {"error":"Invalid token"}"#,
        ],
    ),
    (
        "ws.token-invalid",
        &[
            "empty-token: GET /ws?token=\n",
            r#"expected: frame {"error":"Invalid token"}"#,
        ],
    ),
    (
        "ws.token-first",
        &[
            "good-token-first: GET /ws?token=",
            r#"expected: frame {"type":"authenticated""#,
        ],
    ),
    (
        "logs.token-redacted",
        &["expected: no token value in stdout or stderr"],
    ),
    (
        "logs.refused-token",
        &[
            "expected: no token value, valid or not, in stdout or stderr",
            "got: the refused token in the output",
        ],
    ),
    (
        "first-message.auth",
        &[
            r#"then sent {"token":"#,
            r#"expected: frame {"type":"authenticated""#,
        ],
    ),
    (
        "first-message.in-order",
        &[r#"expected: frame {"boardId":"board-1","type":"joined","viewers":1}"#],
    ),
    (
        "first-message.not-auth",
        &[
            r#"then sent {"boardId":"board-1","type":"join"}"#,
            "expected: close 4001 'Unauthorized'",
        ],
    ),
    (
        "first-message.not-json",
        &["then sent hello", "expected: close 4001 'Unauthorized'"],
    ),
    (
        "first-message.wrong-token",
        &["expected: close 4001 'Invalid token'"],
    ),
    (
        "first-message.timeout",
        &["expected: close 4001 'Authentication timeout'"],
    ),
    (
        "first-message.binary",
        &[
            "then sent binary auth",
            "expected: close 4001 'Unauthorized'",
        ],
    ),
    (
        "first-message.timeout-cancelled",
        &[
            "expected: the authenticated socket to stay open",
            "got: close 4001 'Authentication timeout'",
        ],
    ),
    (
        "server.bad-auth-timeout",
        &["a last stderr line naming AUTH_TIMEOUT_MS"],
    ),
    (
        "expiry.at-connect",
        &[r#"expected: frame {"error":"Session expired"}"#],
    ),
    (
        "expiry.while-connected",
        &["expected: close 4002 'Session expired'"],
    ),
    (
        "expiry.hour-old",
        &[
            r#"expected: frame {"error":"Session expired"}"#,
            r#"got: frame {"error":"Invalid session"}"#,
        ],
    ),
    (
        "expiry.expires-at",
        &["with no SESSION_TTL_SECS, log ", "+ 86400)"],
    ),
    (
        "logout.ok",
        &["expected: 204 with Set-Cookie: session=; Path=/; Max-Age=0"],
    ),
    (
        "logout.closes-sockets",
        &["expected: close 4002 'Session expired'"],
    ),
    (
        "rooms.forbidden",
        &[r#"expected: frame {"error":"Forbidden"}"#],
    ),
    (
        "rooms.close-by-server",
        &[
            r#"expected: frame {"type":"user_left""#,
            "got: no frame within",
        ],
    ),
    (
        "rooms.members",
        &[r#"expected: frame {"boardId":"board-2","type":"joined"}"#],
    ),
    (
        "tokens.survive-logout",
        &[
            "token-after-logout: GET /ws?token=",
            r#"expected: frame {"type":"authenticated""#,
        ],
    ),
    (
        "close.normal",
        &["then sent close 1000", "expected: close 1000"],
    ),
    ("close.too-big", &["(65537 bytes)", "expected: close 1009"]),
    (
        "shutdown.going-away",
        &[
            "anonymous: GET /ws (no cookie, no token)",
            "expected: close 1001 'Server shutting down'",
        ],
    ),
    (
        "origin.foreign",
        &[
            r#"expected: HTTP 403, Content-Type: application/json, body {"error":"Forbidden origin"}"#,
        ],
    ),
    (
        "origin.own",
        &[
            "Origin: HTTP://LOCALHOST:",
            "expected: the upgrade to succeed",
        ],
    ),
    (
        "origin.allowed",
        &[
            "Origin: https://app.example\n",
            "expected: the upgrade to succeed",
        ],
    ),
    (
        "origin.token-exempt",
        &[
            "Origin: http://evil.example",
            "expected: the upgrade to succeed",
        ],
    ),
    (
        "server.bad-ticket-ttl",
        &[
            "start the server with TICKET_TTL_SECS=0",
            "a last stderr line naming TICKET_TTL_SECS",
        ],
    ),
    (
        "tickets.issue",
        &[
            "request: POST /api/ws-ticket, empty body",
            r#"expected: 401 {"error":"Unauthorized"}"#,
        ],
    ),
    (
        "tickets.once",
        &[
            "again: GET /ws?ticket=",
            r#"expected: frame {"error":"Invalid ticket"}"#,
        ],
    ),
    (
        "tickets.invalid",
        &[
            "empty: GET /ws?ticket=, Cookie: session=",
            r#"expected: frame {"error":"Invalid ticket"}"#,
        ],
    ),
    (
        "tickets.expired",
        &[
            "late: GET /ws?ticket=",
            r#"expected: frame {"error":"Ticket expired"}"#,
        ],
    ),
    (
        "tickets.session-ended",
        &[
            "after-logout: GET /ws?ticket=",
            r#"expected: frame {"error":"Invalid ticket"}"#,
        ],
    ),
    (
        "tickets.race",
        &[
            "two upgrades at once with one ticket",
            "got: 2 authenticated, 0 Invalid ticket",
        ],
    ),
    (
        "tickets.logout-closes",
        &["GET /ws?ticket=", "expected: close 4002 'Session expired'"],
    ),
    (
        "tickets.expiry-closes",
        &["GET /ws?ticket=", "expected: close 4002 'Session expired'"],
    ),
    (
        "bearer.ok",
        &["Authorization: bearer ", "expected: the upgrade to succeed"],
    ),
    (
        "bearer.invalid",
        &[
            r#"expected: HTTP 401, WWW-Authenticate: Bearer, body {"error":"Invalid token"}, no upgrade"#,
            "(WWW-Authenticate: none)",
        ],
    ),
    (
        "bearer.basic-ignored",
        &["Authorization: Basic ", "expected: the upgrade to succeed"],
    ),
    (
        "logs.ticket-redacted",
        &[
            "expected: no ticket or token value in stdout or stderr",
            "got: the valid ticket in the output",
        ],
    ),
    (
        "origin.ticket-exempt",
        &[
            "GET /ws?ticket=",
            "Origin: http://evil.example",
            "expected: the upgrade to succeed",
        ],
    ),
    (
        "origin.basic-checked",
        &[
            "Authorization: Basic ",
            r#"expected: HTTP 403, Content-Type: application/json, body {"error":"Forbidden origin"}"#,
        ],
    ),
    (
        "page.served",
        &[
            "expected: scripts, styles and links from the same server only",
            "got: the page loads https://",
        ],
    ),
    (
        "server.bad-limit-settings",
        &[
            "request: start the server with MESSAGE_RATE=0",
            "a last stderr line naming MESSAGE_RATE",
        ],
    ),
    (
        "heartbeat.pings",
        &["expected: a ping within 500 ms (PING_INTERVAL_MS=200)"],
    ),
    (
        "heartbeat.silent-dropped",
        &[
            r#"expected: {"type":"user_left","user":{"id":"user-"#,
            r#""viewers":1} within"#,
            "got: no frame within",
        ],
    ),
    (
        "heartbeat.answering-kept",
        &[
            "expected: the socket to stay open",
            "got: close 1001 'Ping timeout'",
        ],
    ),
    (
        "heartbeat.messages-kept",
        &[
            "reading nothing meanwhile (PING_INTERVAL_MS=200)",
            "expected: every probe answered",
        ],
    ),
    (
        "recheck.deleted-user",
        &[r#"expected: frame {"error":"User not found"}"#],
    ),
    (
        "recheck.membership",
        &[r#"expected: frame {"error":"Forbidden"}"#],
    ),
    (
        "recheck.listener-user",
        &[r#"expected: frame {"error":"User not found"} within 1.5 s"#],
    ),
    (
        "recheck.listener-membership",
        &[r#"expected: frame {"error":"Forbidden"} within 1.5 s"#],
    ),
    (
        "recheck.listener-session",
        &["expected: close 4002 'Session expired'"],
    ),
    (
        "limits.sockets-per-user",
        &[
            "expected: close 1008 'Too many connections'",
            r#"got: frame {"type":"authenticated""#,
        ],
    ),
    (
        "limits.message-rate",
        &[
            r#"expected: frame {"error":"Rate limited"}"#,
            "got: close 1008",
        ],
    ),
    (
        "limits.sockets-across-sessions",
        &[
            "one-too-many (after a cookie and a token socket)",
            "expected: close 1008 'Too many connections'",
            r#"got: frame {"type":"authenticated""#,
        ],
    ),
    (
        "limits.rate-per-socket",
        &[
            "6 probes sent on each at once (MESSAGE_RATE=5)",
            "from a bucket of its own",
            r#"got: frame {"error":"Rate limited"}"#,
        ],
    ),
    (
        "limits.rate-every-frame",
        &[
            r#"expected: frame {"error":"Rate limited"}"#,
            r#"got: frame {"error":"Unknown message type"}"#,
        ],
    ),
    (
        "limits.limited-not-acted-on",
        &[
            r#"then sent {"boardId":"board-1","type":"join"}"#,
            "expected: nothing within 300 ms",
            r#"got: frame {"boardId":"board-1","type":"joined""#,
        ],
    ),
    (
        "server.bad-redis-url",
        &[
            "request: start the server with REDIS_URL=",
            "a last stderr line naming REDIS_URL",
        ],
    ),
    (
        "server.redis-password",
        &[
            "without the password anywhere in the output",
            "got: the password in its output: ",
        ],
    ),
    (
        "server.bad-hostile-settings",
        &["a last stderr line naming LOGIN_CONCURRENCY"],
    ),
    (
        "shutdown.every-socket",
        &[
            "expected: close 1001 'Server shutting down' on every socket",
            "close 1013 'Try again later'",
        ],
    ),
    (
        "cluster.outage-local",
        &[
            r#"expected: frame {"type":"user_typing","user":{"id":"user-alice","name":"Alice"}} within 500 ms"#,
        ],
    ),
    (
        "cluster.outage-recovers",
        &["to hear", "within 2 s of Redis coming back"],
    ),
    (
        "requests.slow-headers",
        &["expected: the connection closed, or 408 and closed, within 1.5 s"],
    ),
    (
        "requests.stalled-body",
        &[r#"expected: 408 {"error":"Request timeout"} within 1.5 s"#],
    ),
    (
        "protocol.bad-frames",
        &["an unmasked text frame", "expected: close 1002"],
    ),
    (
        "protocol.bad-utf8",
        &["which are not UTF-8", "expected: close 1007"],
    ),
    ("upgrade.bad-key", &["expected: HTTP 400, no upgrade"]),
    (
        "db.locked",
        &[
            "while the database is locked: POST /api/login",
            r#"expected: 503 {"error":"Database busy"}"#,
        ],
    ),
    (
        "flood.bounded",
        &[
            "200 x POST /api/login",
            "expected: a peak resident memory under 114 MiB",
        ],
    ),
    (
        "flood.busy",
        &[
            r#"expected: some answered 503 {"error":"Busy"} with Retry-After: 1"#,
            // The break answers every login 401, one password check at a
            // time: on a loaded machine the last ones can outlast the
            // client's 5 s, so the count of 401s is not part of the text.
            r#" x 401 {"error":"Invalid credentials"}"#,
        ],
    ),
    (
        "cluster.rooms",
        &[
            r#"expected: frame {"type":"user_joined","user":{"id":"user-bob","name":"Bob"},"viewers":2}"#,
        ],
    ),
    (
        "cluster.viewers",
        &[
            r#"expected: frame {"boardId":"board-1","type":"joined","viewers":2}"#,
            r#"got: frame {"boardId":"board-1","type":"joined","viewers":1}"#,
        ],
    ),
    (
        "cluster.only-the-board",
        &[
            "carol@a",
            r#"got: frame {"type":"user_joined","user":{"id":"user-carol","name":"Carol"},"viewers":1}"#,
        ],
    ),
    (
        "cluster.ticket",
        &[
            "request: alice@b: GET /ws?ticket=",
            r#"got: frame {"error":"Invalid ticket"}"#,
        ],
    ),
    (
        "cluster.logout",
        &["expected: close 4002 'Session expired'"],
    ),
];
