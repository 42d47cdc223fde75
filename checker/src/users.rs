//! The seeded users of the contract ("Seeded data"), as the rows log them
//! in, and the made-up secrets no server issued.

use serde_json::{Value, json};

/// A seeded user (the contract's "Seeded data").
#[derive(Debug)]
pub struct User {
    pub id: &'static str,
    pub name: &'static str,
    pub username: &'static str,
    pub password: &'static str,
}

pub(crate) static ALICE: User = User {
    id: "user-alice",
    name: "Alice",
    username: "alice",
    password: "alice-password",
};
pub(crate) static BOB: User = User {
    id: "user-bob",
    name: "Bob",
    username: "bob",
    password: "bob-password",
};
/// Not in board-1: the outsider of the rooms rows.
pub(crate) static CAROL: User = User {
    id: "user-carol",
    name: "Carol",
    username: "carol",
    password: "carol-password",
};

impl User {
    /// `U` of the contract: `{"id":..,"name":..}`.
    pub fn json(&self) -> Value {
        json!({"id": self.id, "name": self.name})
    }

    pub fn authenticated(&self) -> Value {
        json!({"type": "authenticated", "user": self.json()})
    }
}

/// Alice or Bob, at random: both are members of board-1, and a server that
/// only works for one of them fails sooner or later.
pub(crate) fn member() -> &'static User {
    if rand::random_bool(0.5) { &ALICE } else { &BOB }
}

/// The other one of Alice and Bob.
pub(crate) fn other_member(user: &User) -> &'static User {
    if user.id == ALICE.id { &BOB } else { &ALICE }
}

/// A random string that no server has issued, for unknown sessions and tokens.
pub(crate) fn unknown_secret() -> String {
    rand::random::<[u8; 16]>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
