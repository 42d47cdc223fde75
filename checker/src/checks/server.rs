//! Rows `server.*`: starting a server, its settings, the seeded data and the database file.

use std::net::TcpListener;
use std::time::Duration;

use serde_json::json;

use super::{ALICE, BOB, CAROL, Ctx, ensure, member};
use crate::client::Request;
use crate::failure::Failure;
use crate::rows::{FRESH, Row, SIGNED_IN, Setup, check};
use crate::sent::Sent;
use crate::server::describe_status;

/// The rows this module grades, in the order they are reported.
pub(crate) static ROWS: &[Row] = &[
    Row {
        id: "server.listening",
        exercise: 1,
        retired_after: None,
        name: "prints `listening on http://127.0.0.1:PORT` first, with the real port",
        book: "contract.md#starting-a-server",
        setup: FRESH,
        hint: "board::run binds and prints this line in the exercises (keep main calling it, and print nothing to stdout before it); a server of your own binds first (PORT=0 picks a free port), then prints the bound port as its first stdout line and flushes it.",
        check: check!(listening),
    },
    Row {
        id: "server.bad-settings",
        exercise: 1,
        retired_after: None,
        name: "bad settings end the process with an error naming the setting",
        book: "contract.md#starting-a-server",
        setup: Setup::OwnServers,
        hint: "board refuses bad settings in the exercises (keep main returning what board::run returns); a server of your own parses every setting before binding and returns an error naming it (not unwrap or expect, which panic), so main exits non-zero with that message on stderr.",
        check: check!(bad_settings),
    },
    Row {
        id: "server.seeded",
        exercise: 1,
        retired_after: None,
        name: "the three seeded users can log in",
        book: "contract.md#seeded-data",
        setup: SIGNED_IN,
        hint: "board seeds the users at every start in the exercises; a server of your own inserts the seed users and boards where they are missing, with hashed passwords.",
        check: check!(seeded),
    },
    Row {
        id: "server.restart-keeps-data",
        exercise: 1,
        retired_after: None,
        name: "a restart keeps sessions and brings back a deleted seed user",
        book: "contract.md#the-database",
        setup: Setup::OwnServers,
        hint: "board keeps sessions in the DATABASE_PATH file and seeds with inserts that skip existing rows in the exercises; a server of your own must too, not keep sessions in memory or fail on (or replace) existing rows.",
        check: check!(restart_keeps_data),
    },
    Row {
        id: "server.bad-auth-timeout",
        exercise: 5,
        retired_after: None,
        name: "a bad AUTH_TIMEOUT_MS ends the process with an error naming it",
        book: "contract.md#starting-a-server",
        setup: Setup::OwnServers,
        hint: "board parses AUTH_TIMEOUT_MS in the exercises; a server of your own parses it like the other settings: a plain integer from 1 to 3600000, or an error naming it.",
        check: check!(bad_auth_timeout),
    },
    Row {
        id: "server.bad-ticket-ttl",
        exercise: 8,
        retired_after: None,
        name: "a bad TICKET_TTL_SECS ends the process with an error naming it",
        book: "contract.md#starting-a-server",
        setup: Setup::OwnServers,
        hint: "board parses TICKET_TTL_SECS in the exercises; a server of your own parses it like the other settings: a plain integer from 1 to 3600, or an error naming it.",
        check: check!(bad_ticket_ttl),
    },
    Row {
        id: "server.bad-limit-settings",
        exercise: 9,
        retired_after: None,
        name: "a bad PING_INTERVAL_MS, MAX_SOCKETS_PER_USER or MESSAGE_RATE ends the process with an error naming it",
        book: "contract.md#starting-a-server",
        setup: Setup::OwnServers,
        hint: "board parses these three settings in the exercises; a server of your own parses each like the others, within its range, or stops with an error naming it.",
        check: check!(bad_limit_settings),
    },
    Row {
        id: "server.bad-redis-url",
        exercise: 10,
        retired_after: None,
        name: "a REDIS_URL that is not redis://, or a Redis that cannot be reached, ends the process with an error naming it",
        book: "contract.md#starting-a-server",
        setup: Setup::OwnServers,
        hint: "board checks REDIS_URL in the exercises; a server of your own checks its scheme and connects to it before the listening line, and treats either failure as a bad setting.",
        check: check!(bad_redis_url),
    },
    Row {
        id: "server.redis-password",
        exercise: 10,
        retired_after: None,
        name: "a REDIS_URL whose password Redis refuses, or that has none, ends the process with an error naming it, never showing the password",
        book: "two-servers.md#the-bus-is-a-trust-boundary",
        setup: Setup::OwnServers,
        hint: "board connects to REDIS_URL in the exercises and hides its password in errors; a server of your own authenticates to Redis before the listening line, treats a refused password as a bad setting, and prints the URL, if at all, without its password.",
        check: check!(redis_password),
    },
    Row {
        id: "server.bad-hostile-settings",
        exercise: 11,
        retired_after: None,
        name: "a bad REQUEST_TIMEOUT_MS or LOGIN_CONCURRENCY ends the process with an error naming it",
        book: "contract.md#starting-a-server",
        setup: Setup::OwnServers,
        hint: "board parses these two settings in the exercises; a server of your own parses each like the others, within its range (REQUEST_TIMEOUT_MS 100-600000, LOGIN_CONCURRENCY 1-1024), or stops with an error naming it.",
        check: check!(bad_hostile_settings),
    },
];

/// The contract: bad settings end the process within 2 seconds of its start. A
/// little slack covers the checker's own scheduling on a busy machine.
const REFUSAL_LIMIT: Duration = Duration::from_millis(2_500);

pub(crate) async fn listening(ctx: Ctx) -> Result<(), Failure> {
    // The runner has read the listening line already; the port in it must be
    // the one the server really answers on.
    let request = Request::get("/api/me");
    let response = ctx.send(request.clone()).await?;
    ensure(
        response.status == 401,
        Sent::from(&request).then(&format!(
            " on the port of the listening line ({})",
            ctx.port()
        )),
        "an HTTP answer (401 without a session)",
        response.describe(),
    )
}

/// One bad setting and the name its error must mention.
pub(crate) struct BadSetting {
    pub settings: Vec<(&'static str, String)>,
    pub named: &'static str,
    /// A part of the value that must appear nowhere in the output.
    pub secret: Option<String>,
}

impl BadSetting {
    pub(crate) fn new(name: &'static str, value: &str) -> Self {
        BadSetting {
            settings: vec![(name, value.to_owned())],
            named: name,
            secret: None,
        }
    }

    /// The same, with `secret` (a part of the value) never to be printed.
    pub(crate) fn hiding(mut self, secret: &str) -> Self {
        self.secret = Some(secret.to_owned());
        self
    }
}

/// Starts a server for each bad setting and expects it to refuse to run.
pub(crate) async fn expect_refusals(ctx: &Ctx, cases: Vec<BadSetting>) -> Result<(), Failure> {
    for case in cases {
        let database = ctx.env().fresh_database();
        let settings: Vec<(&str, &str)> = case
            .settings
            .iter()
            .map(|(k, v)| (*k, v.as_str()))
            .collect();
        let request = Sent::start(&settings);
        let expected = format!(
            "a non-zero exit within 2 s, no listening line, and a last stderr line naming {}{}",
            case.named,
            if case.secret.is_some() {
                ", without the password anywhere in the output"
            } else {
                ""
            }
        );
        let spawned = ctx.spawn(&database, &settings)?;
        let server = spawned.server();
        let status = server.wait_exit(REFUSAL_LIMIT).await;
        server.wait_output_closed(Duration::from_millis(500)).await;
        let output = server.all_output();
        let listened = output
            .lines()
            .next()
            .is_some_and(|line| line.starts_with("listening on"));
        let shown_secret = case
            .secret
            .as_deref()
            .and_then(|secret| output.lines().find(|line| line.contains(secret)));
        let got = match status {
            None if listened => Some("it printed the listening line and kept running".to_owned()),
            None => Some("it was still running after 2 s".to_owned()),
            Some(status) if status.success() => Some("it exited with code 0".to_owned()),
            Some(_) if listened => Some("it printed the listening line before exiting".to_owned()),
            Some(status) => {
                let last = server.last_stderr_line();
                match (
                    output.lines().find(|line| line.contains("panicked at")),
                    last,
                ) {
                    (Some(panic), _) => Some(format!(
                        "a panic ({}): {}",
                        describe_status(status),
                        panic.trim()
                    )),
                    (None, None) => Some(format!(
                        "{} with nothing on stderr",
                        describe_status(status)
                    )),
                    (None, Some(last)) if !last.contains(case.named) => Some(format!(
                        "{}, last stderr line: {last}",
                        describe_status(status)
                    )),
                    (None, Some(_)) => shown_secret
                        .map(|line| format!("the password in its output: {}", line.trim())),
                }
            }
        };
        if let Some(got) = got {
            let tail = server.output_tail();
            return Err(Failure::new(request, expected, got)
                .with_diagnosis("what the server printed".to_owned(), tail));
        }
    }
    Ok(())
}

pub(crate) async fn bad_settings(ctx: Ctx) -> Result<(), Failure> {
    // A port the checker holds, so the server's bind must fail.
    let taken = TcpListener::bind(("127.0.0.1", 0))
        .and_then(|listener| Ok((listener.local_addr()?.port(), listener)))
        .map_err(|error| {
            Failure::new(
                "bind a port to make it busy",
                "a bound port",
                error.to_string(),
            )
        })?;
    let missing_directory = ctx.env().dir().join("no-such-directory").join("board.db");
    let cases = vec![
        BadSetting::new("PORT", "abc"),
        BadSetting::new("PORT", "70000"),
        BadSetting::new("SESSION_TTL_SECS", "0"),
        BadSetting::new("SESSION_TTL_SECS", "-5"),
        BadSetting::new("SESSION_TTL_SECS", "31536001"),
        BadSetting::new("DATABASE_PATH", &missing_directory.to_string_lossy()),
        BadSetting::new("PORT", &taken.0.to_string()),
    ];
    let result = expect_refusals(&ctx, cases).await;
    drop(taken.1);
    result
}

/// The logins are usually those the runner made on a fresh database before
/// the rows, for every signed-in row (see [`crate::signed_in`]); if one of
/// them failed, none was kept, and the three are made here, so the report
/// shows the one that fails.
pub(crate) async fn seeded(ctx: Ctx) -> Result<(), Failure> {
    for user in [&ALICE, &BOB, &CAROL] {
        ctx.session(user).await?;
    }
    Ok(())
}

pub(crate) async fn restart_keeps_data(mut ctx: Ctx) -> Result<(), Failure> {
    let database = ctx.env().fresh_database();
    let first = ctx.start(&database, &[]).await?;
    ctx.set_main(first.clone(), database.clone());
    let user = member();
    let session = ctx.session(user).await?;
    first.stop().await;
    ctx.sql("DELETE FROM users WHERE id = ?1", vec![json!(CAROL.id)])
        .await?;

    let second = ctx.start(&database, &[]).await?;
    ctx.set_main(second, database);
    let me = Request::get("/api/me").cookie(&session);
    let response = ctx.send(me.clone()).await?;
    ensure(
        response.is(200, &json!({"user": user.json()})),
        Sent::from(&me).after("after a restart on the same DATABASE_PATH: "),
        format!(
            "200 {{\"user\":{}}} (the session survives the restart)",
            user.json()
        ),
        response.describe(),
    )?;
    ctx.session(&CAROL).await.map_err(|mut failure| {
        failure.request = format!(
            "after deleting user-carol and restarting: {}",
            failure.request
        );
        failure
    })?;
    Ok(())
}

pub(crate) async fn bad_auth_timeout(ctx: Ctx) -> Result<(), Failure> {
    let cases = ["0", "abc", "3600001"]
        .iter()
        .map(|value| BadSetting::new("AUTH_TIMEOUT_MS", value))
        .collect();
    expect_refusals(&ctx, cases).await
}

pub(crate) async fn bad_ticket_ttl(ctx: Ctx) -> Result<(), Failure> {
    let cases = ["0", "abc", "3601"]
        .iter()
        .map(|value| BadSetting::new("TICKET_TTL_SECS", value))
        .collect();
    expect_refusals(&ctx, cases).await
}

pub(crate) async fn bad_limit_settings(ctx: Ctx) -> Result<(), Failure> {
    let cases = [
        ("PING_INTERVAL_MS", "99"),
        ("PING_INTERVAL_MS", "abc"),
        ("PING_INTERVAL_MS", "3600001"),
        ("MAX_SOCKETS_PER_USER", "0"),
        ("MAX_SOCKETS_PER_USER", "10001"),
        ("MESSAGE_RATE", "0"),
        ("MESSAGE_RATE", "100001"),
    ]
    .iter()
    .map(|(setting, value)| BadSetting::new(setting, value))
    .collect();
    expect_refusals(&ctx, cases).await
}

pub(crate) async fn bad_redis_url(ctx: Ctx) -> Result<(), Failure> {
    // A port nobody listens on: a Redis that cannot be reached.
    let unreachable = format!("redis://127.0.0.1:{}", crate::redis_server::free_port()?);
    let cases = vec![
        BadSetting::new("REDIS_URL", "http://127.0.0.1:6379"),
        BadSetting::new("REDIS_URL", &unreachable),
    ];
    expect_refusals(&ctx, cases).await
}

pub(crate) async fn bad_hostile_settings(ctx: Ctx) -> Result<(), Failure> {
    let cases = [
        ("REQUEST_TIMEOUT_MS", "99"),
        ("REQUEST_TIMEOUT_MS", "abc"),
        ("REQUEST_TIMEOUT_MS", "600001"),
        ("LOGIN_CONCURRENCY", "0"),
        ("LOGIN_CONCURRENCY", "abc"),
        ("LOGIN_CONCURRENCY", "1025"),
    ]
    .iter()
    .map(|(setting, value)| BadSetting::new(setting, value))
    .collect();
    expect_refusals(&ctx, cases).await
}

pub(crate) async fn redis_password(ctx: Ctx) -> Result<(), Failure> {
    let redis = crate::redis_server::start(ctx.env().dir()).await?;
    let port = redis.port;
    ctx.keep(redis.server);
    let wrong = crate::checks::unknown_secret();
    let cases = vec![
        BadSetting::new("REDIS_URL", &format!("redis://:{wrong}@127.0.0.1:{port}")).hiding(&wrong),
        BadSetting::new(
            "REDIS_URL",
            &format!("redis://default:{wrong}@127.0.0.1:{port}"),
        )
        .hiding(&wrong),
        BadSetting::new("REDIS_URL", &format!("redis://127.0.0.1:{port}")),
    ];
    expect_refusals(&ctx, cases).await
}
