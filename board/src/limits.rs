//! The arithmetic of the limits a long-lived socket lives under (exercise
//! 9): a token bucket for the messages one socket may send, and a count of
//! the sockets each user holds open.
//!
//! These are plumbing: how a bucket refills and how a count stays right when
//! a socket task ends in any way (a `Drop` guard, so a panic or an early
//! return cannot leak a slot). Where each limit is checked, what counts
//! against it and what the client is told are the exercise's to decide.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// A token bucket: `rate` tokens, refilled continuously at `rate` per
/// second; it starts full.
#[derive(Debug)]
pub struct TokenBucket {
    rate: f64,
    tokens: f64,
    refilled_at: Instant,
}

impl TokenBucket {
    pub fn new(rate: u32) -> TokenBucket {
        let rate = f64::from(rate);
        TokenBucket {
            rate,
            tokens: rate,
            refilled_at: Instant::now(),
        }
    }

    /// Takes one token if there is one; says whether it did.
    pub fn try_take(&mut self) -> bool {
        let now = Instant::now();
        let earned = now.duration_since(self.refilled_at).as_secs_f64() * self.rate;
        self.tokens = (self.tokens + earned).min(self.rate);
        self.refilled_at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// How many authenticated sockets each user holds open on this process.
#[derive(Clone, Debug, Default)]
pub struct UserSockets {
    open: Arc<Mutex<HashMap<String, usize>>>,
}

/// One user's place among their open sockets; dropping it gives it back.
#[derive(Debug)]
pub struct SocketSlot {
    user_id: String,
    open: Arc<Mutex<HashMap<String, usize>>>,
}

impl UserSockets {
    /// A slot for one more socket of `user_id`, unless the user already
    /// holds `limit`. Counting and taking are one step, so two sockets
    /// arriving at once cannot both take the last slot.
    pub fn try_open(&self, user_id: &str, limit: usize) -> Option<SocketSlot> {
        let mut open = lock(&self.open);
        let count = open.entry(user_id.to_owned()).or_insert(0);
        if *count >= limit {
            return None;
        }
        *count += 1;
        Some(SocketSlot {
            user_id: user_id.to_owned(),
            open: Arc::clone(&self.open),
        })
    }

    /// How many sockets `user_id` holds open now.
    pub fn count(&self, user_id: &str) -> usize {
        lock(&self.open).get(user_id).copied().unwrap_or(0)
    }
}

impl Drop for SocketSlot {
    fn drop(&mut self) {
        let mut open = lock(&self.open);
        if let Some(count) = open.get_mut(&self.user_id) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.user_id);
            }
        }
    }
}

fn lock(open: &Mutex<HashMap<String, usize>>) -> std::sync::MutexGuard<'_, HashMap<String, usize>> {
    // A count is still right after a panic elsewhere: each change is one
    // statement under the lock.
    open.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_starts_full_and_refuses_when_empty() {
        let mut bucket = TokenBucket::new(5);
        assert!((0..5).all(|_| bucket.try_take()));
        assert!(!bucket.try_take());
    }

    #[test]
    fn a_slot_is_given_back_when_dropped() {
        let sockets = UserSockets::default();
        let first = sockets.try_open("user-alice", 2);
        let second = sockets.try_open("user-alice", 2);
        assert!(first.is_some() && second.is_some());
        assert!(sockets.try_open("user-alice", 2).is_none());
        assert!(sockets.try_open("user-bob", 2).is_some());
        drop(first);
        assert_eq!(sockets.count("user-alice"), 1);
        assert!(sockets.try_open("user-alice", 2).is_some());
    }
}
