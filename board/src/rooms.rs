//! The room registry: which sockets are in which board.
//!
//! A socket that joins a board registers a channel here; anyone who wants to
//! tell the others in that board something puts a frame into their channels.
//! Each socket's own task drains its channel and writes to its socket, so no
//! socket is ever written by two tasks at once and a slow receiver never
//! blocks the sender.
//!
//! Never blocking the sender must not mean unbounded memory: a receiver
//! that stops reading (a stalled client, a full TCP window) would make its
//! queue grow for as long as the others talk. So each queue holds at most
//! [`MAILBOX_BOUND`] frames, and when it is full:
//! - a `user_typing` frame is dropped: it is a hint that the next one
//!   replaces, and a receiver that far behind has stale hints anyway;
//! - any other frame (`user_joined`, `user_left`) cannot be dropped without
//!   leaving the receiver with a wrong picture of the board, so the receiver
//!   is told it fell behind: its [`Mailbox::next`] answers `None`, and the
//!   socket is closed (1013 "Try again later" from exercise 6 on) so that
//!   the client reconnects and starts from a true picture.
//!
//! Rooms count sockets, not users: a user with two tabs open is two viewers,
//! and each tab hears about the other.
//!
//! A broadcast is serialised once, into a [`Frame`] that every mailbox
//! shares by reference: with 500 sockets in a board, one `typing` is one
//! serialisation, not 499 copies of a JSON value and 499 serialisations
//! (book/src/what-it-costs.md#serialising-once-per-broadcast).

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
};

use axum::extract::ws::Utf8Bytes;
use serde_json::Value;
use tokio::sync::mpsc;

/// How many frames may wait for one socket before the policy above applies.
pub const MAILBOX_BOUND: usize = 256;

/// Identifies one socket for as long as it is open.
pub type SocketId = u64;

/// The sender of a frame that came from another process (exercise 10): no
/// socket here has this id, so every socket in the board receives it.
pub const FROM_ELSEWHERE: SocketId = SocketId::MAX;

/// A JSON frame serialised once for all its receivers; cloning it counts a
/// reference instead of copying the text. [`Socket::send_json`] sends it
/// as it is.
///
/// [`Socket::send_json`]: crate::socket::Socket::send_json
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame(Utf8Bytes);

impl Frame {
    /// Serialises `value` once.
    pub fn new(value: &Value) -> Frame {
        Frame(value.to_string().into())
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    pub(crate) fn text(&self) -> Utf8Bytes {
        self.0.clone()
    }
}

/// The way to a socket's mailbox from a sender.
#[derive(Clone)]
struct Outbox {
    frames: mpsc::Sender<Frame>,
    /// Set when a frame the socket must not miss did not fit. A flag, not
    /// a cancellation token the mailbox waits on: waiting on a token takes
    /// a lock to register and another to unregister, on every frame.
    fell_behind: Arc<AtomicBool>,
}

/// Each board's sockets, by id, with the way to reach each.
type Boards = HashMap<String, HashMap<SocketId, Outbox>>;

/// The registry; cheap to clone, shared by every socket task.
#[derive(Clone, Default)]
pub struct Rooms {
    boards: Arc<Mutex<Boards>>,
    next_id: Arc<AtomicU64>,
}

/// A socket's place in the registry: its id, and the frames others send it.
pub struct Mailbox {
    pub id: SocketId,
    outbox: Outbox,
    receiver: mpsc::Receiver<Frame>,
}

impl Mailbox {
    /// The next frame another socket sent to this one, or `None` once this
    /// socket has fallen so far behind that a frame it must not miss could
    /// not be queued (see the module's documentation): the socket must end.
    pub async fn next(&mut self) -> Option<Frame> {
        // The flag is set only when this queue is full, so `recv` is never
        // left waiting on an empty queue after it: a full queue answers at
        // once, and the check after `recv` (or the next call's) ends the
        // socket.
        if self.outbox.fell_behind.load(Ordering::Relaxed) {
            return None;
        }
        // `self` holds a sender too, so the channel never closes while we wait.
        let frame = self.receiver.recv().await;
        if self.outbox.fell_behind.load(Ordering::Relaxed) {
            return None;
        }
        frame
    }

    /// A frame that is already waiting, without waiting for one: `None`
    /// when there is none, or when the socket fell behind (the next call
    /// to [`Mailbox::next`] says so).
    pub fn try_next(&mut self) -> Option<Frame> {
        if self.outbox.fell_behind.load(Ordering::Relaxed) {
            return None;
        }
        self.receiver.try_recv().ok()
    }
}

impl Rooms {
    fn lock(&self) -> MutexGuard<'_, Boards> {
        self.boards
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A mailbox for a newly authenticated socket, in no board yet.
    pub fn mailbox(&self) -> Mailbox {
        let (frames, receiver) = mpsc::channel(MAILBOX_BOUND);
        Mailbox {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            outbox: Outbox {
                frames,
                fell_behind: Arc::default(),
            },
            receiver,
        }
    }

    /// Puts the socket in `board_id`. Returns the number of sockets in the
    /// board afterwards, or `None` if it was already there.
    pub fn join(&self, board_id: &str, mailbox: &Mailbox) -> Option<usize> {
        let mut boards = self.lock();
        let members = boards.entry(board_id.to_owned()).or_default();
        if members.contains_key(&mailbox.id) {
            return None;
        }
        members.insert(mailbox.id, mailbox.outbox.clone());
        Some(members.len())
    }

    /// Takes the socket out of `board_id`. Returns the number of sockets left,
    /// or `None` if it was not in the board.
    pub fn leave(&self, board_id: &str, socket: SocketId) -> Option<usize> {
        let mut boards = self.lock();
        let members = boards.get_mut(board_id)?;
        members.remove(&socket)?;
        let left = members.len();
        if left == 0 {
            boards.remove(board_id);
        }
        Some(left)
    }

    /// The boards the socket is in.
    pub fn boards_of(&self, socket: SocketId) -> Vec<String> {
        self.lock()
            .iter()
            .filter(|(_, members)| members.contains_key(&socket))
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// Takes the socket out of every board it is in, returning each board
    /// with the number of sockets left in it.
    pub fn leave_all(&self, socket: SocketId) -> Vec<(String, usize)> {
        self.boards_of(socket)
            .into_iter()
            .filter_map(|board_id| Some((board_id.clone(), self.leave(&board_id, socket)?)))
            .collect()
    }

    /// The number of sockets in `board_id`.
    pub fn viewers(&self, board_id: &str) -> usize {
        self.lock().get(board_id).map_or(0, HashMap::len)
    }

    /// Whether the socket is in `board_id`.
    pub fn contains(&self, board_id: &str, socket: SocketId) -> bool {
        self.lock()
            .get(board_id)
            .is_some_and(|members| members.contains_key(&socket))
    }

    /// Sends `frame` to every socket in `board_id` except `sender`.
    pub fn broadcast(&self, board_id: &str, sender: SocketId, frame: &Value) {
        let droppable = frame["type"] == "user_typing";
        // Serialised before taking the lock, and once for every receiver.
        let frame = Frame::new(frame);
        if let Some(members) = self.lock().get(board_id) {
            for (_, outbox) in members.iter().filter(|(id, _)| **id != sender) {
                match outbox.frames.try_send(frame.clone()) {
                    Ok(()) => {}
                    Err(mpsc::error::TrySendError::Full(_)) if droppable => {}
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        outbox.fell_behind.store(true, Ordering::Relaxed);
                    }
                    // A closed receiver belongs to a socket that is ending and
                    // will leave the board in a moment: nothing to do.
                    Err(mpsc::error::TrySendError::Closed(_)) => {}
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[tokio::test]
    async fn a_broadcast_reaches_the_others_in_the_board_only() {
        let rooms = Rooms::default();
        let (mut alice, mut bob, mut carol) = (rooms.mailbox(), rooms.mailbox(), rooms.mailbox());
        assert_eq!(rooms.join("board-1", &alice), Some(1));
        assert_eq!(rooms.join("board-1", &bob), Some(2));
        assert_eq!(rooms.join("board-1", &bob), None);
        assert_eq!(rooms.join("board-2", &carol), Some(1));

        rooms.broadcast("board-1", alice.id, &json!({"n": 1}));
        rooms.broadcast("board-2", carol.id, &json!({"n": 2}));
        rooms.broadcast("board-1", bob.id, &json!({"n": 3}));

        assert_eq!(bob.next().await, Some(Frame::new(&json!({"n": 1}))));
        assert_eq!(alice.next().await, Some(Frame::new(&json!({"n": 3}))));
        assert!(
            carol.receiver.try_recv().is_err(),
            "carol is alone in board-2"
        );
        assert!(
            bob.receiver.try_recv().is_err(),
            "bob does not hear himself"
        );
    }

    #[test]
    fn leaving_reports_who_is_left() {
        let rooms = Rooms::default();
        let (alice, bob) = (rooms.mailbox(), rooms.mailbox());
        rooms.join("board-1", &alice);
        rooms.join("board-2", &alice);
        rooms.join("board-1", &bob);
        assert_eq!(rooms.leave("board-2", bob.id), None);
        let mut left = rooms.leave_all(alice.id);
        left.sort();
        assert_eq!(left, [("board-1".to_owned(), 1), ("board-2".to_owned(), 0)]);
        assert!(!rooms.contains("board-1", alice.id));
        assert_eq!(rooms.viewers("board-1"), 1);
    }

    #[tokio::test]
    async fn what_is_already_queued_comes_in_order_without_waiting() {
        let rooms = Rooms::default();
        let (alice, mut bob) = (rooms.mailbox(), rooms.mailbox());
        rooms.join("board-1", &alice);
        rooms.join("board-1", &bob);
        for n in 1..=3 {
            rooms.broadcast("board-1", alice.id, &json!({ "n": n }));
        }
        assert_eq!(bob.next().await, Some(Frame::new(&json!({"n": 1}))));
        assert_eq!(bob.try_next(), Some(Frame::new(&json!({"n": 2}))));
        assert_eq!(bob.try_next(), Some(Frame::new(&json!({"n": 3}))));
        assert_eq!(bob.try_next(), None, "nothing more is queued");

        rooms.broadcast("board-1", alice.id, &json!({"n": 4}));
        bob.outbox.fell_behind.store(true, Ordering::Relaxed);
        assert_eq!(
            bob.try_next(),
            None,
            "a socket that fell behind takes no more"
        );
    }

    #[tokio::test]
    async fn a_receiver_that_falls_behind_loses_hints_then_is_told_to_go() {
        let rooms = Rooms::default();
        let (alice, mut bob) = (rooms.mailbox(), rooms.mailbox());
        rooms.join("board-1", &alice);
        rooms.join("board-1", &bob);
        let typing = json!({"type": "user_typing", "user": {"id": "user-alice"}});
        for _ in 0..MAILBOX_BOUND * 2 {
            rooms.broadcast("board-1", alice.id, &typing);
        }
        assert_eq!(
            bob.receiver.len(),
            MAILBOX_BOUND,
            "hints beyond the bound are dropped"
        );
        assert!(
            !bob.outbox.fell_behind.load(Ordering::Relaxed),
            "dropping hints is enough"
        );
        let joined = json!({"type": "user_joined", "user": {"id": "user-carol"}, "viewers": 3});
        rooms.broadcast("board-1", alice.id, &joined);
        assert_eq!(
            bob.next().await,
            None,
            "a frame it must not miss did not fit"
        );
    }
}
