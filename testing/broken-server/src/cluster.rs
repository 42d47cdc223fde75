//! Exercise 10: two processes, one board, over board's Redis [`Bus`], with
//! the breaks of its rows. Every room event goes through [`broadcast`] and
//! every viewer count through [`viewers`]; [`relay`] runs beside the server
//! and hands the other processes' messages to this one's sockets.
//!
//! The messages are the reference solution's in spirit, not in form: a room
//! event is `{"from","board","frame"}` and a logout `{"from","ended"}`,
//! and viewers are a Redis hash per board of each process's count.

use board::{
    App,
    bus::{Bus, BusError},
    rooms::{FROM_ELSEWHERE, SocketId},
};
use std::{
    sync::atomic::{AtomicBool, Ordering},
    time::Duration,
};

use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

use crate::broken;

/// Connects to `REDIS_URL` when it is set. With the `server.bad-redis-url`
/// break, a Redis that cannot be used is only warned about, and the process
/// works alone.
pub(crate) async fn connect(url: Option<&str>) -> Result<Option<Bus>, board::config::ConfigError> {
    let Some(url) = url else {
        return Ok(None);
    };
    match Bus::connect(url).await {
        Ok(bus) => Ok(Some(bus)),
        Err(error) if broken("server.bad-redis-url") => {
            tracing::warn!("{error}; working alone");
            Ok(None)
        }
        Err(error) if broken("server.redis-password") => Err(board::config::ConfigError {
            setting: "REDIS_URL",
            problem: format!("cannot use {url}: {}", error.problem),
        }),
        Err(error) => Err(error),
    }
}

/// Tells the others in `board_id`: this process's sockets directly, the
/// other processes' over the bus.
pub(crate) async fn broadcast(app: &App, board_id: &str, sender: SocketId, frame: &Value) {
    app.rooms.broadcast(board_id, sender, frame);
    let Some(bus) = &app.bus else { return };
    if broken("cluster.rooms") {
        // The break: room events stay in the process they happened in.
        return;
    }
    let message = json!({ "from": bus.process_id(), "board": board_id, "frame": frame });
    warn_on(on_bus(bus.publish(&message.to_string())).await);
}

/// The board's viewers: `here` counts this process's own sockets in it;
/// with a bus, every process's are counted.
pub(crate) async fn viewers(app: &App, board_id: &str, here: usize) -> usize {
    let Some(bus) = &app.bus else { return here };
    if broken("cluster.viewers") {
        // The break: the count is this process's alone.
        return here;
    }
    match on_bus(count(bus, board_id, here)).await {
        Ok(viewers) => viewers,
        Err(error) => {
            tracing::warn!("{error}");
            here
        }
    }
}

/// Each process keeps its own count in its field of one hash per board;
/// the board's viewers are the sum of the fields. (The reference solution
/// keeps a set of sockets instead; either is exact for the checker's rows,
/// which change a board's viewers one at a time.)
async fn count(bus: &Bus, board_id: &str, here: usize) -> Result<usize, BusError> {
    let key = format!("broken-server:viewers:{board_id}");
    let (counts,): (Vec<usize>,) = redis::pipe()
        .atomic()
        .hset(&key, bus.process_id(), here)
        .ignore()
        .hvals(&key)
        .query_async(&mut bus.connection())
        .await?;
    Ok(counts.iter().sum())
}

/// Runs beside the server: delivers what the other processes publish, and
/// publishes the sessions that ended here.
pub(crate) async fn relay(app: App) {
    let Some(bus) = app.bus.clone() else { return };
    let Some(mut published) = bus.messages() else {
        return;
    };
    let mut endings = app.sessions.subscribe();
    loop {
        tokio::select! {
            Some(payload) = published.recv() => deliver(&app, &bus, &payload),
            ended = endings.recv() => match ended {
                Ok(ended) if ended.here && !broken("cluster.logout") => {
                    let message = json!({ "from": bus.process_id(), "ended": ended.key });
                    warn_on(on_bus(bus.publish(&message.to_string())).await);
                }
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return,
            },
            () = app.shutting_down() => return,
        }
    }
}

/// Hands one bus message to this process's sockets.
fn deliver(app: &App, bus: &Bus, payload: &str) {
    let Ok(message) = serde_json::from_str::<Value>(payload) else {
        return;
    };
    // The break: a process's own messages come back and are delivered again.
    if message["from"] == bus.process_id() && !broken("cluster.only-the-board") {
        return;
    }
    if let (Some(board_id), Some(frame)) = (message["board"].as_str(), message.get("frame")) {
        app.rooms.broadcast(board_id, FROM_ELSEWHERE, frame);
    } else if let Some(key) = message["ended"].as_str() {
        app.sessions.ended_elsewhere(key);
    }
}

/// How long a socket's loop waits for the bus before it goes on without it.
const BUS_WAIT: Duration = Duration::from_millis(250);

/// Set, with the `cluster.outage-recovers` break, once a command on the bus
/// has failed: from then on the process leaves the bus alone for good.
static GAVE_UP: AtomicBool = AtomicBool::new(false);

/// Waits for `command` at most [`BUS_WAIT`] (the `cluster.outage-local`
/// break waits as long as Redis takes).
async fn on_bus<T>(command: impl Future<Output = Result<T, BusError>>) -> Result<T, BusError> {
    let giving_up = broken("cluster.outage-recovers");
    if giving_up && GAVE_UP.load(Ordering::Relaxed) {
        return Err(BusError::TimedOut(Duration::ZERO));
    }
    let result = if broken("cluster.outage-local") {
        command.await
    } else {
        tokio::time::timeout(BUS_WAIT, command)
            .await
            .unwrap_or(Err(BusError::TimedOut(BUS_WAIT)))
    };
    if giving_up && result.is_err() {
        GAVE_UP.store(true, Ordering::Relaxed);
    }
    result
}

fn warn_on(result: Result<(), BusError>) {
    if let Err(error) = result {
        tracing::warn!("{error}");
    }
}
