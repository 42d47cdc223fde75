//! Server settings, read once from the environment at start.
//!
//! Every exercise server and every solution starts the same way, so the
//! settings live here rather than in each `main.rs`. The rules are strict on
//! purpose: a value that is not a plain decimal number, or is out of range,
//! stops the server with one line naming the setting, instead of falling back
//! to a default the user did not ask for. The checker relies on that line.

use std::{fmt, time::Duration};

/// Everything a server reads from its environment.
#[derive(Clone, Debug)]
pub struct Config {
    /// TCP port on 127.0.0.1; 0 lets the OS choose one. Once the server
    /// listens, the port it got.
    pub port: u16,
    /// SQLite file, or `:memory:`.
    pub database_path: String,
    /// How long a login session lives.
    pub session_ttl: Duration,
    /// How long a socket without credentials may take to send its auth frame.
    pub auth_timeout: Duration,
    /// `TICKET_TTL_SECS`: how long a WebSocket ticket stays usable
    /// (exercise 8 on).
    pub ticket_ttl: Duration,
    /// `PING_INTERVAL_MS`: how often each authenticated socket is pinged
    /// (exercise 9 on).
    pub ping_interval: Duration,
    /// `MAX_SOCKETS_PER_USER`: open authenticated sockets one user may hold
    /// on this process (exercise 9 on).
    pub max_sockets_per_user: usize,
    /// `MESSAGE_RATE`: messages per second one socket may send (exercise 9 on).
    pub message_rate: u32,
    /// `REQUEST_TIMEOUT_MS`: how long a client may take to send a request's
    /// headers, and then as long again for its body (exercise 11 on, applied
    /// by every server).
    pub request_timeout: Duration,
    /// `LOGIN_CONCURRENCY`: password checks that may run at once (exercise
    /// 11 on). Defaults to the number of CPUs: a check is CPU-bound, so more
    /// at once only share the same cores while each holds its hash's memory.
    pub login_concurrency: usize,
    /// `REDIS_URL`: the bus shared by several server processes (exercise
    /// 10); `None` when unset or empty, and the process works alone.
    pub redis_url: Option<String>,
    /// Extra origins allowed to open a cookie-authenticated socket, normalised
    /// with [`normalize_origin`].
    pub allowed_origins: Vec<String>,
}

/// A setting with a bad value: which one, and what is wrong with it.
#[derive(Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The variable's name as the contract writes it, such as `PORT`.
    pub setting: &'static str,
    /// What is wrong, for a person to read.
    pub problem: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.setting, self.problem)
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `lookup`, so tests need not touch the
    /// process environment (which is shared by every test thread).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let number = |setting: &'static str, default: u64, range: (u64, u64)| match lookup(setting)
        {
            None => Ok(default),
            Some(text) => parse_in_range(setting, &text, range),
        };
        let port = number("PORT", 3000, (0, 65_535))?;
        let session_ttl = number("SESSION_TTL_SECS", 86_400, (1, 31_536_000))?;
        let auth_timeout = number("AUTH_TIMEOUT_MS", 5_000, (1, 3_600_000))?;
        let ticket_ttl = number("TICKET_TTL_SECS", 30, (1, 3_600))?;
        let ping_interval = number("PING_INTERVAL_MS", 30_000, (100, 3_600_000))?;
        let max_sockets_per_user = number("MAX_SOCKETS_PER_USER", 10, (1, 10_000))?;
        let message_rate = number("MESSAGE_RATE", 20, (1, 100_000))?;
        let request_timeout = number("REQUEST_TIMEOUT_MS", 10_000, (100, 600_000))?;
        let login_concurrency = number("LOGIN_CONCURRENCY", cpu_count(), (1, 1024))?;
        let redis_url = lookup("REDIS_URL").filter(|url| !url.trim().is_empty());
        if let Some(url) = &redis_url
            && !url.starts_with("redis://")
        {
            return Err(ConfigError {
                setting: "REDIS_URL",
                problem: format!("{:?} is not a redis:// URL", without_password(url)),
            });
        }
        let allowed_origins = lookup("ALLOWED_ORIGINS")
            .unwrap_or_default()
            .split(',')
            .filter(|entry| !entry.trim().is_empty())
            .map(normalize_origin)
            .collect();
        Ok(Config {
            port: u16::try_from(port).expect("the range check keeps PORT within u16"),
            database_path: lookup("DATABASE_PATH").unwrap_or_else(|| ":memory:".to_owned()),
            session_ttl: Duration::from_secs(session_ttl),
            auth_timeout: Duration::from_millis(auth_timeout),
            ticket_ttl: Duration::from_secs(ticket_ttl),
            ping_interval: Duration::from_millis(ping_interval),
            max_sockets_per_user: usize::try_from(max_sockets_per_user)
                .expect("the range check keeps MAX_SOCKETS_PER_USER small"),
            message_rate: u32::try_from(message_rate)
                .expect("the range check keeps MESSAGE_RATE within u32"),
            request_timeout: Duration::from_millis(request_timeout),
            login_concurrency: usize::try_from(login_concurrency)
                .expect("the range check keeps LOGIN_CONCURRENCY small"),
            redis_url,
            allowed_origins,
        })
    }
}

/// The default `LOGIN_CONCURRENCY`: the CPUs this process may use (which
/// respects a container's CPU quota), kept within the setting's range. One
/// if the platform cannot tell: the safe side of a memory bound.
fn cpu_count() -> u64 {
    std::thread::available_parallelism()
        .map_or(1, |count| u64::try_from(count.get()).unwrap_or(1024))
        .clamp(1, 1024)
}

/// Accepts only plain decimal digits: `+5`, ` 5`, `0x10` and `5.0` are all
/// refused, because a setting that means something other than what it says
/// is worse than one that stops the server.
fn parse_in_range(
    setting: &'static str,
    text: &str,
    (low, high): (u64, u64),
) -> Result<u64, ConfigError> {
    let error = |problem: String| ConfigError { setting, problem };
    if text.is_empty() || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(error(format!("{text:?} is not a plain decimal integer")));
    }
    match text.parse::<u64>() {
        Ok(value) if (low..=high).contains(&value) => Ok(value),
        _ => Err(error(format!("{text} is out of range ({low}-{high})"))),
    }
}

/// Puts an origin into the one form origins are compared in:
/// `scheme://host[:port]`, lower case, without surrounding spaces or a
/// trailing `/`.
pub fn normalize_origin(origin: &str) -> String {
    origin.trim().trim_end_matches('/').to_ascii_lowercase()
}

/// `url` with the password of its user information replaced, for errors
/// and logs: `redis://:secret@host:6379` shows as `redis://:[redacted]@host:6379`.
/// User information without a `:` is taken as a password and replaced whole.
pub fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let Some((user_info, host)) = authority.rsplit_once('@') else {
        return url.to_owned();
    };
    let user = match user_info.split_once(':') {
        Some((user, _)) => format!("{user}:[redacted]"),
        None => "[redacted]".to_owned(),
    };
    format!("{scheme}://{user}@{host}{path}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_lookup(|name| {
            vars.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        })
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let config = config(&[]).unwrap();
        assert_eq!(config.port, 3000);
        assert_eq!(config.database_path, ":memory:");
        assert_eq!(config.session_ttl, Duration::from_secs(86_400));
        assert_eq!(config.auth_timeout, Duration::from_millis(5_000));
        assert_eq!(config.request_timeout, Duration::from_millis(10_000));
        assert_eq!(
            config.login_concurrency,
            std::thread::available_parallelism().unwrap().get()
        );
        assert!(config.allowed_origins.is_empty());
    }

    #[test]
    fn bad_values_name_their_setting() {
        for (setting, value) in [
            ("PORT", "abc"),
            ("PORT", "70000"),
            ("PORT", "-1"),
            ("PORT", " 80"),
            ("PORT", ""),
            ("SESSION_TTL_SECS", "0"),
            ("SESSION_TTL_SECS", "31536001"),
            ("AUTH_TIMEOUT_MS", "0"),
            ("TICKET_TTL_SECS", "0"),
            ("TICKET_TTL_SECS", "3601"),
            ("PING_INTERVAL_MS", "99"),
            ("MAX_SOCKETS_PER_USER", "0"),
            ("MESSAGE_RATE", "100001"),
            ("REQUEST_TIMEOUT_MS", "99"),
            ("REQUEST_TIMEOUT_MS", "600001"),
            ("REQUEST_TIMEOUT_MS", "1e4"),
            ("LOGIN_CONCURRENCY", "0"),
            ("LOGIN_CONCURRENCY", "1025"),
            ("LOGIN_CONCURRENCY", "+4"),
            ("AUTH_TIMEOUT_MS", "1.5"),
            ("AUTH_TIMEOUT_MS", "99999999999999999999999"),
        ] {
            let error = config(&[(setting, value)]).unwrap_err();
            assert_eq!(error.setting, setting, "{setting}={value:?}");
            assert!(error.to_string().starts_with(&format!("{setting}: ")));
        }
    }

    #[test]
    fn edges_of_each_range_are_accepted() {
        let config = config(&[
            ("PORT", "0"),
            ("SESSION_TTL_SECS", "31536000"),
            ("AUTH_TIMEOUT_MS", "1"),
            ("REQUEST_TIMEOUT_MS", "100"),
            ("LOGIN_CONCURRENCY", "1024"),
        ])
        .unwrap();
        assert_eq!(config.port, 0);
        assert_eq!(config.request_timeout, Duration::from_millis(100));
        assert_eq!(config.login_concurrency, 1024);
        assert_eq!(config.session_ttl, Duration::from_secs(31_536_000));
        assert_eq!(config.auth_timeout, Duration::from_millis(1));
    }

    #[test]
    fn allowed_origins_are_trimmed_and_normalised() {
        let config = config(&[(
            "ALLOWED_ORIGINS",
            " https://App.Example/ ,,http://other.test:8080",
        )])
        .unwrap();
        assert_eq!(
            config.allowed_origins,
            ["https://app.example", "http://other.test:8080"]
        );
    }

    #[test]
    fn passwords_are_never_shown() {
        let cases = [
            ("redis://127.0.0.1:6379", "redis://127.0.0.1:6379"),
            (
                "redis://:s3cret@127.0.0.1:6379",
                "redis://:[redacted]@127.0.0.1:6379",
            ),
            (
                "redis://board:s3cret@127.0.0.1:6379/0",
                "redis://board:[redacted]@127.0.0.1:6379/0",
            ),
            ("rediss://s3cret@host", "rediss://[redacted]@host"),
            ("redis://:p@ss@host:1", "redis://:[redacted]@host:1"),
            ("not a url", "not a url"),
        ];
        for (url, shown) in cases {
            assert_eq!(without_password(url), shown, "{url}");
        }
    }
}
