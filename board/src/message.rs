//! What a client may send over the socket, parsed into a type.
//!
//! The parsing rules are the same in every exercise, so they live here; what
//! the server *does* with a message, or with a message it could not parse, is
//! what the exercises teach.

use serde_json::Value;

/// A message from the client, once it is known to be well formed.
#[derive(Debug, PartialEq, Eq)]
pub enum ClientMessage {
    Join { board_id: String },
    Typing { board_id: String },
    Leave { board_id: String },
    Auth { token: String },
}

/// Why a text frame is not a [`ClientMessage`].
#[derive(Debug, PartialEq, Eq)]
pub enum BadMessage {
    /// Not JSON at all.
    InvalidJson,
    /// A known `type`, but a required field is missing or not a string.
    InvalidMessage,
    /// JSON without a known `type`.
    UnknownType,
}

impl BadMessage {
    /// The text of the error frame the contract answers this with.
    pub fn error_text(&self) -> &'static str {
        match self {
            BadMessage::InvalidJson => "Invalid JSON",
            BadMessage::InvalidMessage => "Invalid message",
            BadMessage::UnknownType => "Unknown message type",
        }
    }
}

impl ClientMessage {
    /// Parses one text frame.
    pub fn parse(text: &str) -> Result<ClientMessage, BadMessage> {
        let value: Value = serde_json::from_str(text).map_err(|_| BadMessage::InvalidJson)?;
        let string_field = |name: &str| value.get(name).and_then(Value::as_str).map(str::to_owned);
        let board_id = || string_field("boardId").ok_or(BadMessage::InvalidMessage);
        match value.get("type").and_then(Value::as_str) {
            Some("join") => Ok(ClientMessage::Join {
                board_id: board_id()?,
            }),
            Some("typing") => Ok(ClientMessage::Typing {
                board_id: board_id()?,
            }),
            Some("leave") => Ok(ClientMessage::Leave {
                board_id: board_id()?,
            }),
            Some("auth") => Ok(ClientMessage::Auth {
                token: string_field("token").ok_or(BadMessage::InvalidMessage)?,
            }),
            _ => Err(BadMessage::UnknownType),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_formed_messages_parse() {
        assert_eq!(
            ClientMessage::parse(r#"{"type":"join","boardId":"board-1","extra":1}"#),
            Ok(ClientMessage::Join {
                board_id: "board-1".into()
            })
        );
        assert_eq!(
            ClientMessage::parse(r#"{"type":"auth","token":"t"}"#),
            Ok(ClientMessage::Auth { token: "t".into() })
        );
    }

    #[test]
    fn each_kind_of_bad_message_is_told_apart() {
        assert_eq!(
            ClientMessage::parse("{not json"),
            Err(BadMessage::InvalidJson)
        );
        assert_eq!(
            ClientMessage::parse(r#"{"type":"typing","boardId":7}"#),
            Err(BadMessage::InvalidMessage)
        );
        assert_eq!(
            ClientMessage::parse(r#"{"type":"leave"}"#),
            Err(BadMessage::InvalidMessage)
        );
        assert_eq!(
            ClientMessage::parse(r#"{"type":"dance"}"#),
            Err(BadMessage::UnknownType)
        );
        assert_eq!(
            ClientMessage::parse(r#"[1,2]"#),
            Err(BadMessage::UnknownType)
        );
    }
}
