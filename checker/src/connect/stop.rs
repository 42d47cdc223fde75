//! Why a `checker connect` session ended before its socket opened, and
//! the exit status that says so.

/// Why a session ended before its socket opened, and the exit status.
pub(crate) struct Stop {
    pub(crate) message: String,
    pub(crate) code: u8,
}

impl Stop {
    /// The server answered, and said no (exit status 1).
    pub(crate) fn refused(message: impl Into<String>) -> Self {
        Stop {
            message: message.into(),
            code: 1,
        }
    }

    /// Nothing usable answered at 127.0.0.1:PORT (exit status 2).
    pub(crate) fn unreachable(port: u16, got: &str) -> Self {
        Stop {
            message: format!(
                "no server answered on 127.0.0.1:{port} ({got}). Start one first, \
                 e.g. `PORT={port} cargo run -p exercises --bin exercise-05`, or pass \
                 the port its `listening on` line names with --port"
            ),
            code: 2,
        }
    }
}
