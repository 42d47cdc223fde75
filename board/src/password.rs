//! Password checks, and the places they run in (exercise 11).
//!
//! An Argon2id check with the default parameters fills 19 MiB of memory on
//! purpose. Bounding how many checks run at once bounds that memory only if
//! it is given back between checks, and an allocator does not promise that:
//! freed blocks of that size are split up by the small allocations of
//! everything else the server does, or kept per thread, and the next check
//! takes fresh memory. So each place among the checks owns the memory of one
//! check, filled the first time it is used and reused ever after: the
//! checks' memory is exactly the number of places times 19 MiB.

use std::sync::{Arc, Mutex};

use argon2::{Algorithm, Argon2, Block, Params, PasswordHash, PasswordVerifier, Version};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The places password checks run in: `LOGIN_CONCURRENCY` of them.
#[derive(Clone)]
pub struct PasswordChecks {
    places: Arc<Semaphore>,
    /// The memory of the places not in use, once each has been used.
    memories: Arc<Mutex<Vec<Vec<Block>>>>,
}

/// One place among the password checks, with the memory of one check; both
/// are given back when it is dropped.
pub struct Place {
    _permit: OwnedSemaphorePermit,
    memory: Vec<Block>,
    memories: Arc<Mutex<Vec<Vec<Block>>>>,
}

impl PasswordChecks {
    pub fn new(places: usize) -> PasswordChecks {
        PasswordChecks {
            places: Arc::new(Semaphore::new(places)),
            memories: Arc::default(),
        }
    }

    /// Waits for a free place, for as long as it takes.
    pub async fn place(&self) -> Place {
        let permit = Arc::clone(&self.places)
            .acquire_owned()
            .await
            .expect("the places are never closed");
        let memory = self.lock().pop().unwrap_or_default();
        Place {
            _permit: permit,
            memory,
            memories: Arc::clone(&self.memories),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Vec<Block>>> {
        self.memories
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        let memory = std::mem::take(&mut self.memory);
        if !memory.is_empty() {
            self.memories
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .push(memory);
        }
    }
}

/// Whether `password` is the one `stored` (a PHC string) was made from. In a
/// place, the check uses the place's memory; without one, memory of its own.
pub fn verify(stored: &str, password: &str, place: Option<&mut Place>) -> bool {
    let Ok(hash) = PasswordHash::new(stored) else {
        return false;
    };
    match place {
        Some(place) => verify_in(&hash, password, &mut place.memory).unwrap_or(false),
        None => Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok(),
    }
}

/// What `Argon2::verify_password` does, in `memory` (grown to the size the
/// hash's parameters ask for, the first time).
fn verify_in(hash: &PasswordHash<'_>, password: &str, memory: &mut Vec<Block>) -> Option<bool> {
    let algorithm = Algorithm::try_from(hash.algorithm).ok()?;
    let version = Version::try_from(hash.version.unwrap_or(Version::default().into())).ok()?;
    let params = Params::try_from(hash).ok()?;
    let expected = hash.hash?;
    let mut salt = [0u8; 64];
    let salt = hash.salt?.decode_b64(&mut salt).ok()?;
    memory.resize(params.block_count(), Block::default());
    let mut computed = vec![0u8; expected.len()];
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password.as_bytes(), salt, &mut computed, &mut memory[..])
        .ok()?;
    // `Output`'s comparison takes the same time wherever the bytes differ.
    Some(argon2::password_hash::Output::new(&computed).ok()? == expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE: &str = "alice-password";

    fn stored() -> String {
        use argon2::PasswordHasher;
        let salt = argon2::password_hash::SaltString::encode_b64(b"sixteen byte slt").unwrap();
        Argon2::default()
            .hash_password(ALICE.as_bytes(), &salt)
            .unwrap()
            .to_string()
    }

    #[tokio::test]
    async fn a_place_checks_like_argon2_and_keeps_its_memory() {
        let stored = stored();
        let checks = PasswordChecks::new(1);
        let mut place = checks.place().await;
        assert!(verify(&stored, ALICE, Some(&mut place)));
        assert!(!verify(&stored, "bob-password", Some(&mut place)));
        assert!(verify(&stored, ALICE, None));
        let blocks = place.memory.len();
        assert_eq!(blocks, Params::DEFAULT_M_COST as usize);
        drop(place);
        // The memory comes back with the next place, not anew.
        let place = checks.place().await;
        assert_eq!(place.memory.len(), blocks);
    }

    #[tokio::test]
    async fn no_more_places_than_asked_for() {
        let checks = PasswordChecks::new(1);
        let first = checks.place().await;
        let second = tokio::time::timeout(std::time::Duration::from_millis(50), checks.place());
        assert!(
            second.await.is_err(),
            "a second place while the first is held"
        );
        drop(first);
        let _ = checks.place().await;
    }
}
