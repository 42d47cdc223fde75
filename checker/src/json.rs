//! Structural comparison of JSON, the way the contract (the book's appendix) allows servers to differ.
//!
//! A server may add fields to frames and bodies but never drop or rename the
//! ones the contract names, so an expected object matches any object that has at
//! least its fields with matching values. Everything else (arrays, strings,
//! numbers) must be equal; numbers compare by value, so `2` and `2.0` agree.

use serde_json::Value;

/// Whether `got` has everything `expected` asks for.
pub(crate) fn matches(expected: &Value, got: &Value) -> bool {
    match (expected, got) {
        (Value::Object(expected), Value::Object(got)) => expected
            .iter()
            .all(|(key, value)| got.get(key).is_some_and(|got| matches(value, got))),
        (Value::Array(expected), Value::Array(got)) => {
            expected.len() == got.len() && expected.iter().zip(got).all(|(e, g)| matches(e, g))
        }
        (Value::Number(expected), Value::Number(got)) => expected.as_f64() == got.as_f64(),
        _ => expected == got,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn extra_fields_are_allowed() {
        let expected = json!({"type": "user_typing", "user": {"id": "user-bob", "name": "Bob"}});
        let got = json!({"type": "user_typing", "boardId": "board-1", "user": {"id": "user-bob", "name": "Bob", "x": 1}});
        assert!(matches(&expected, &got));
    }

    #[test]
    fn missing_renamed_or_different_fields_are_not() {
        let expected = json!({"type": "joined", "boardId": "board-1", "viewers": 2});
        assert!(!matches(
            &expected,
            &json!({"type": "joined", "boardId": "board-1"})
        ));
        assert!(!matches(
            &expected,
            &json!({"type": "joined", "board_id": "board-1", "viewers": 2})
        ));
        assert!(!matches(
            &expected,
            &json!({"type": "joined", "boardId": "board-1", "viewers": "2"})
        ));
        assert!(!matches(
            &expected,
            &json!({"type": "joined", "boardId": "board-1", "viewers": 1})
        ));
        assert!(!matches(&expected, &json!([expected.clone()])));
    }

    #[test]
    fn numbers_compare_by_value() {
        assert!(matches(&json!({"viewers": 2}), &json!({"viewers": 2.0})));
    }
}
