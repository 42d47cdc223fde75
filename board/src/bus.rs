//! The bus between server processes (exercise 10): one Redis pub/sub
//! channel that every process sharing `REDIS_URL` publishes to and listens
//! on, and a connection for the shared state kept in Redis.
//!
//! This is the plumbing: connecting (a Redis that cannot be reached at start
//! is a bad setting, like a port in use), a publishing connection that
//! reconnects by itself, and a subscription loop that subscribes again after
//! the connection drops. What goes over the bus, and what a process does
//! with what the others publish, is the exercise's.
//!
//! Pub/sub delivers at most once: a message published while a process is
//! reconnecting is lost to it. That is fine for what the workbook sends (a
//! typing hint, a viewer count that the next event corrects); the book's
//! chapter discusses what is not.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use redis::{AsyncCommands, aio::ConnectionManager};
use tokio::sync::mpsc;

use crate::config::ConfigError;

/// The one channel every process publishes to and listens on.
pub const CHANNEL: &str = "board-events";

/// How long connecting at start may take: bad settings must end the
/// process within 2 seconds.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(1_500);

/// How long the subscription loop waits before subscribing again after
/// its connection dropped.
const RESUBSCRIBE_DELAY: Duration = Duration::from_millis(200);

/// The publishing connection's reconnecting: attempts at most 250 ms apart,
/// so that a Redis that comes back is used again within well under a
/// second (the contract allows 2), and a command that waits on a Redis
/// that is gone fails within a second instead of hanging.
fn reconnecting() -> redis::aio::ConnectionManagerConfig {
    redis::aio::ConnectionManagerConfig::new()
        .set_factor(50)
        .set_max_delay(250)
        .set_connection_timeout(Duration::from_millis(500))
        .set_response_timeout(Duration::from_secs(1))
}

/// Messages received but not yet handled; beyond this the oldest wait in
/// Redis's own output buffer, which has its own limits.
const INBOX_BOUND: usize = 1_024;

/// A process's link to the bus; cheap to clone.
#[derive(Clone)]
pub struct Bus {
    publisher: ConnectionManager,
    process_id: String,
    /// What the subscription loop receives, until [`Bus::messages`] takes it.
    messages: Arc<Mutex<Option<mpsc::Receiver<String>>>>,
}

/// A failed bus command. Its text is for the log.
#[derive(Debug)]
pub enum BusError {
    /// Redis answered with an error, or could not be reached.
    Redis(redis::RedisError),
    /// The caller stopped waiting for an answer after this long.
    TimedOut(Duration),
}

impl std::fmt::Display for BusError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BusError::Redis(error) => write!(f, "bus error: {error}"),
            BusError::TimedOut(limit) => write!(f, "bus error: no answer within {limit:?}"),
        }
    }
}

impl std::error::Error for BusError {}

impl From<redis::RedisError> for BusError {
    fn from(error: redis::RedisError) -> Self {
        BusError::Redis(error)
    }
}

impl Bus {
    /// Connects to the Redis at `url`. A URL it cannot use, a Redis that
    /// does not answer in time, or one that refuses the URL's password, is a
    /// bad `REDIS_URL`; the error shows the URL without its password.
    pub async fn connect(url: &str) -> Result<Bus, ConfigError> {
        let bad = |problem: String| ConfigError {
            setting: "REDIS_URL",
            problem,
        };
        let shown = crate::config::without_password(url);
        let client =
            redis::Client::open(url).map_err(|error| bad(format!("{shown:?}: {error}")))?;
        let connecting = async {
            let mut publisher =
                ConnectionManager::new_with_config(client.clone(), reconnecting()).await?;
            // A Redis that requires a password accepts the connection and
            // refuses only its first command: ask one now, so that a wrong
            // or missing password is a bad setting, not a later surprise.
            redis::cmd("PING").query_async::<()>(&mut publisher).await?;
            // Subscribed before the server announces itself: a message
            // published once it is listening must reach it.
            let messages = subscribe(client).await?;
            Ok::<_, redis::RedisError>((publisher, messages))
        };
        let (publisher, messages) = tokio::time::timeout(CONNECT_TIMEOUT, connecting)
            .await
            .map_err(|_| bad(format!("no answer from {shown} within {CONNECT_TIMEOUT:?}")))?
            .map_err(|error| bad(format!("cannot use {shown}: {error}")))?;
        Ok(Bus {
            publisher,
            process_id: crate::db::random_secret(),
            messages: Arc::new(Mutex::new(Some(messages))),
        })
    }

    /// This process's id: random at every start, so that a process can
    /// recognise its own messages when they come back from the bus.
    pub fn process_id(&self) -> &str {
        &self.process_id
    }

    /// Publishes `payload` on [`CHANNEL`] to every process, this one included.
    pub async fn publish(&self, payload: &str) -> Result<(), BusError> {
        let mut publisher = self.publisher.clone();
        publisher.publish::<_, _, ()>(CHANNEL, payload).await?;
        Ok(())
    }

    /// A connection for commands on the shared state (sets, counters). It
    /// reconnects by itself; clone it freely.
    pub fn connection(&self) -> ConnectionManager {
        self.publisher.clone()
    }

    /// Every payload published on [`CHANNEL`] since the server started, by
    /// any process, this one included, in the order Redis delivers them; for
    /// the one task that handles them (a second call gets `None`).
    pub fn messages(&self) -> Option<mpsc::Receiver<String>> {
        self.messages
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take()
    }
}

/// Starts the subscription loop and waits until its first subscription is
/// in place. The loop subscribes again whenever its connection drops.
async fn subscribe(client: redis::Client) -> Result<mpsc::Receiver<String>, redis::RedisError> {
    let (inbox, messages) = mpsc::channel(INBOX_BOUND);
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe(CHANNEL).await?;
    tokio::spawn(async move {
        let mut first = Some(pubsub);
        // Logged once when the bus goes, and once when it is back: not at
        // every attempt in between.
        let mut lost = false;
        while !inbox.is_closed() {
            let subscribed = match first.take() {
                Some(pubsub) => Ok(pubsub),
                None => resubscribe(&client).await,
            };
            let result = match subscribed {
                Ok(pubsub) => {
                    if std::mem::take(&mut lost) {
                        tracing::warn!("bus subscription back");
                    }
                    forward(pubsub, &inbox).await
                }
                Err(error) => Err(error),
            };
            if !lost {
                lost = true;
                match result {
                    Err(error) => {
                        tracing::warn!("bus subscription lost ({error}); subscribing again")
                    }
                    Ok(()) => tracing::warn!("bus subscription lost; subscribing again"),
                }
            }
            tokio::time::sleep(RESUBSCRIBE_DELAY).await;
        }
    });
    Ok(messages)
}

async fn resubscribe(client: &redis::Client) -> Result<redis::aio::PubSub, BusError> {
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe(CHANNEL).await?;
    Ok(pubsub)
}

/// Forwards every payload until the connection ends (or nobody listens any
/// more).
async fn forward(
    mut pubsub: redis::aio::PubSub,
    inbox: &mpsc::Sender<String>,
) -> Result<(), BusError> {
    let mut stream = pubsub.on_message();
    while let Some(message) = stream.next().await {
        let Ok(payload) = message.get_payload::<String>() else {
            continue;
        };
        if inbox.send(payload).await.is_err() {
            break;
        }
    }
    Ok(())
}
