//! Who is on the other end of a new socket: the cookie's session, a token,
//! a ticket, a bearer header's user, or the first frame's token, with the
//! breaks of the rows that grade each way in. The credential itself was
//! picked in `main.rs`'s upgrade handler, in the contract's order.

use std::time::Duration;

use board::{
    App,
    db::{Session, User, unix_now},
    message::{BadMessage, ClientMessage},
    socket::{Incoming, Socket},
};

use crate::{
    Credential, EXPIRED, Goodbye, INVALID_SESSION, INVALID_TOKEN, TIMED_OUT, UNAUTHORIZED,
    USER_NOT_FOUND, breaks::broken, rest::token_user, tickets,
};

pub(crate) async fn identify(
    app: &App,
    socket: &mut Socket,
    credential: Credential,
) -> Result<(User, Option<Session>), Goodbye> {
    match credential {
        Credential::Cookie(id) => by_cookie(app, &id),
        Credential::Ticket(ticket) => tickets::redeem(app, &ticket).await,
        Credential::Bearer(user) => Ok((user, None)),
        Credential::Token(token, fallback) => match (token_user(app, &token), fallback) {
            (Some(user), _) => Ok((user, None)),
            (None, Some(cookie)) => by_cookie(app, &cookie),
            (None, None) => {
                if broken("logs.refused-token") {
                    // The break: a refused token is logged, as if only a
                    // good one were a secret.
                    tracing::warn!("refused token {token}");
                }
                Err(INVALID_TOKEN)
            }
        },
        Credential::Anonymous if broken("ws.no-credential") => Err(UNAUTHORIZED),
        Credential::Anonymous => by_first_frame(app, socket).await.map(|user| (user, None)),
    }
}

fn by_cookie(app: &App, id: &str) -> Result<(User, Option<Session>), Goodbye> {
    let unknown = if broken("ws.unknown-session") {
        (Some("Invalid session"), 1000, "Invalid session")
    } else {
        INVALID_SESSION
    };
    let session = app.db.session(id).ok().flatten().ok_or(unknown)?;
    if broken("expiry.hour-old") && session.expires_at < unix_now() - 600 {
        // As if a purge every ten minutes had deleted it.
        return Err(INVALID_SESSION);
    }
    if session.is_expired() && !broken("expiry.at-connect") {
        return Err(EXPIRED);
    }
    let missing_user = if broken("ws.deleted-user") {
        INVALID_SESSION
    } else {
        USER_NOT_FOUND
    };
    let user = app
        .db
        .user(&session.user_id)
        .ok()
        .flatten()
        .ok_or(missing_user)?;
    Ok((user, Some(session)))
}

/// First-message auth: the first frame must be `{"type":"auth","token":..}`.
async fn by_first_frame(app: &App, socket: &mut Socket) -> Result<User, Goodbye> {
    let patience = if broken("first-message.timeout") {
        Duration::from_secs(5)
    } else {
        app.config.auth_timeout
    };
    let deadline = tokio::time::Instant::now() + patience;
    loop {
        let first = tokio::time::timeout_at(deadline, socket.recv())
            .await
            .map_err(|_| TIMED_OUT)?;
        let text = match first {
            Some(Incoming::Text(text)) => text,
            // The break: a binary frame is skipped while waiting for the
            // auth frame, as if only text could be a first message.
            Some(Incoming::Binary) if broken("first-message.binary") => continue,
            _ => return Err(UNAUTHORIZED),
        };
        let token = match ClientMessage::parse(&text) {
            Ok(ClientMessage::Auth { token }) => token,
            Err(BadMessage::InvalidJson) if broken("first-message.not-json") => {
                socket.send_error("Invalid JSON").await;
                continue;
            }
            Err(BadMessage::InvalidJson) => return Err(UNAUTHORIZED),
            _ if broken("first-message.not-auth") => {
                socket.send_error("Unauthorized").await;
                continue;
            }
            _ => return Err(UNAUTHORIZED),
        };
        let user = if broken("first-message.auth") {
            let session = app.db.session(&token).ok().flatten();
            session.and_then(|session| app.db.user(&session.user_id).ok().flatten())
        } else {
            token_user(app, &token)
        };
        let wrong = if broken("first-message.wrong-token") {
            UNAUTHORIZED
        } else {
            INVALID_TOKEN
        };
        let user = user.ok_or(wrong)?;
        if broken("first-message.in-order") {
            let swallow = Duration::from_millis(100);
            while let Ok(Some(_)) = tokio::time::timeout(swallow, socket.recv()).await {}
        }
        return Ok(user);
    }
}
