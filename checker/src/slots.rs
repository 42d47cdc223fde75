//! The slots rows run in: a fixed number at once across every program the
//! checker grades, handed out by priority.
//!
//! A plain semaphore hands out its permits first come, first served. When
//! several programs are graded side by side, each queues all its rows as
//! soon as its own first server is ready, so the slowest rows of the last
//! program to queue (rows that wait on the clock: an expiry, heartbeats, a
//! Redis) started last and kept the whole run waiting with a core idle.
//! Here a waiting row with a higher priority gets the next free slot,
//! whichever program it belongs to; rows of equal priority get slots in the
//! order they asked.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::sync::{Mutex, MutexGuard};

use tokio::sync::oneshot;

/// A fixed number of slots.
pub struct Slots {
    state: Mutex<State>,
}

struct State {
    free: usize,
    waiting: BinaryHeap<Waiter>,
    /// How many rows have asked so far: the order among equal priorities.
    asked: u64,
}

struct Waiter {
    priority: u8,
    asked: u64,
    wake: oneshot::Sender<()>,
}

/// A slot held; dropping it hands the slot on.
pub struct Slot {
    slots: &'static Slots,
}

impl Slots {
    pub const fn new(count: usize) -> Slots {
        Slots {
            state: Mutex::new(State {
                free: count,
                waiting: BinaryHeap::new(),
                asked: 0,
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Every change to the state is a single step that cannot panic
        // halfway, so a poisoned lock still holds a consistent state.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits for a slot; among waiting rows, a higher `priority` goes first.
    pub async fn acquire(&'static self, priority: u8) -> Slot {
        let woken = {
            let mut state = self.state();
            if state.free > 0 {
                state.free -= 1;
                return Slot { slots: self };
            }
            let (wake, woken) = oneshot::channel();
            let asked = state.asked;
            state.asked += 1;
            state.waiting.push(Waiter {
                priority,
                asked,
                wake,
            });
            woken
        };
        let mut queued = Queued {
            slots: self,
            woken: Some(woken),
        };
        if let Some(woken) = queued.woken.as_mut() {
            // The sender stays in the heap until a slot is handed to it.
            let _ = woken.await;
        }
        queued.woken = None;
        Slot { slots: self }
    }
}

/// A row waiting for a slot. If it is dropped while it waits (its task was
/// cancelled), a slot handed to it in the meantime is handed on, not lost.
struct Queued {
    slots: &'static Slots,
    woken: Option<oneshot::Receiver<()>>,
}

impl Drop for Queued {
    fn drop(&mut self) {
        if let Some(mut woken) = self.woken.take() {
            // Closed, it takes no slot from now on; one sent before is ours.
            woken.close();
            if woken.try_recv().is_ok() {
                drop(Slot { slots: self.slots });
            }
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut state = self.slots.state();
        // A waiter that stopped waiting takes no slot: hand it to the next.
        while let Some(waiter) = state.waiting.pop() {
            if waiter.wake.send(()).is_ok() {
                return;
            }
        }
        state.free += 1;
    }
}

impl Ord for Waiter {
    fn cmp(&self, other: &Self) -> Ordering {
        // The heap pops the greatest: the highest priority, then the one
        // that asked first.
        self.priority
            .cmp(&other.priority)
            .then_with(|| other.asked.cmp(&self.asked))
    }
}

impl PartialOrd for Waiter {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Waiter {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Waiter {}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// With its one slot taken, rows that ask get it by priority, then in
    /// the order they asked; a row dropped while waiting is skipped.
    #[tokio::test]
    async fn a_freed_slot_goes_to_the_highest_priority_then_the_first_to_ask() {
        static SLOTS: Slots = Slots::new(1);
        let held = SLOTS.acquire(0).await;
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut rows = Vec::new();
        for (name, priority) in [("low", 1), ("high", 9), ("gone", 9), ("high too", 9)] {
            let order = order.clone();
            rows.push(tokio::spawn(async move {
                let _slot = SLOTS.acquire(priority).await;
                order.lock().expect("not poisoned").push(name);
            }));
            // Each asks before the next: asking is the first thing it does.
            while SLOTS.state().asked == rows.len() as u64 - 1 {
                tokio::task::yield_now().await;
            }
        }
        rows.remove(2).abort();
        drop(held);
        for row in rows {
            row.await.expect("the row ran");
        }
        assert_eq!(
            *order.lock().expect("not poisoned"),
            ["high", "high too", "low"]
        );
        assert_eq!(SLOTS.state().free, 1, "the slot is free again");
    }

    /// A row that stops waiting after a slot was handed to it, before it
    /// took it, hands the slot on.
    #[tokio::test]
    async fn a_slot_handed_to_a_row_that_stopped_waiting_is_not_lost() {
        static SLOTS: Slots = Slots::new(1);
        let held = SLOTS.acquire(0).await;
        let mut waiting = Box::pin(SLOTS.acquire(0));
        assert!(futures_util::poll!(&mut waiting).is_pending());
        drop(held);
        drop(waiting);
        assert_eq!(SLOTS.state().free, 1);
    }
}
