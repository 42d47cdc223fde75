//! Reading `Set-Cookie` headers.
//!
//! The contract (the book's appendix) fixes the attributes of the session cookie but not their order or
//! case, and allows a `Max-Age` after them, so the header is split into a
//! name, a value and a list of attributes that rows look up by name,
//! case-insensitively.

/// One `Set-Cookie` header, taken apart.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct SetCookie {
    pub name: String,
    pub value: String,
    /// Attribute names in lower case, with their values as written.
    attributes: Vec<(String, Option<String>)>,
}

impl SetCookie {
    pub(crate) fn parse(header: &str) -> Option<SetCookie> {
        let mut parts = header.split(';');
        let (name, value) = parts.next()?.split_once('=')?;
        let name = name.trim();
        if name.is_empty() {
            return None;
        }
        let attributes = parts
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(|part| match part.split_once('=') {
                Some((key, value)) => (
                    key.trim().to_ascii_lowercase(),
                    Some(value.trim().to_owned()),
                ),
                None => (part.to_ascii_lowercase(), None),
            })
            .collect();
        Some(SetCookie {
            name: name.to_owned(),
            value: value.trim().to_owned(),
            attributes,
        })
    }

    /// Whether the attribute is present (`HttpOnly`, `Path=/`, ...).
    pub(crate) fn has(&self, attribute: &str) -> bool {
        self.attribute(attribute).is_some()
    }

    /// The attribute's value: `Some(None)` for a flag such as `HttpOnly`.
    pub(crate) fn attribute(&self, attribute: &str) -> Option<Option<&str>> {
        self.attributes
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(attribute))
            .map(|(_, value)| value.as_deref())
    }
}

/// The `session` cookie among a response's `Set-Cookie` headers.
pub(crate) fn session_cookie<'a>(headers: impl IntoIterator<Item = &'a str>) -> Option<SetCookie> {
    headers
        .into_iter()
        .filter_map(SetCookie::parse)
        .find(|cookie| cookie.name == "session")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_attributes_in_any_order_and_case() {
        let cookie =
            SetCookie::parse("session=abc123; samesite=lax; HTTPONLY; path=/; Max-Age=86400")
                .unwrap();
        assert_eq!(cookie.name, "session");
        assert_eq!(cookie.value, "abc123");
        assert!(cookie.has("HttpOnly"));
        assert_eq!(cookie.attribute("SameSite"), Some(Some("lax")));
        assert_eq!(cookie.attribute("Path"), Some(Some("/")));
        assert_eq!(cookie.attribute("Max-Age"), Some(Some("86400")));
        assert_eq!(cookie.attribute("Secure"), None);
    }

    #[test]
    fn a_cleared_cookie_has_an_empty_value() {
        let cookie = SetCookie::parse("session=; Path=/; Max-Age=0").unwrap();
        assert_eq!(cookie.value, "");
        assert_eq!(cookie.attribute("max-age"), Some(Some("0")));
    }

    #[test]
    fn finds_the_session_cookie() {
        let headers = [
            "theme=dark; Path=/",
            "session=xyz; Path=/; HttpOnly; SameSite=Lax",
        ];
        assert_eq!(session_cookie(headers).unwrap().value, "xyz");
        assert_eq!(session_cookie(["nonsense"]), None);
    }
}
