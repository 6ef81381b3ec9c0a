//! The Redis backend: buckets in a Redis server, for when several hosts
//! share state.
//!
//! Key layout, for a bucket `B`, in the database the address names:
//!
//! - `wasi-keyvalue:B`, a hash: each key of the bucket is a field, its
//!   value the field's value (bytes, as the guest wrote them);
//! - `wasi-keyvalue-keys:B`, a sorted set of the same keys, every score 0,
//!   so that Redis keeps them in byte order and `list-keys` reads a page by
//!   rank (`ZRANGE`) instead of sorting the whole bucket at every call.
//!
//! Every write changes both in one step other clients cannot interleave
//! with: `set-many` and `delete-many` in one `MULTI`/`EXEC`, `increment`
//! in one Lua script (`EVALSHA`), which does the decimal arithmetic on the
//! counter's text itself, since Lua's numbers cannot hold every `u64`.
//! A call is answered `ok` only after Redis acknowledged it; whether that
//! write survives a crash of Redis is Redis's persistence setting
//! (`appendonly yes` with `appendfsync always` for every write).
//!
//! Faults: connecting, reading and writing each time out after a second or
//! two, so that a hung Redis holds a guest's call only that long; a
//! connection that failed is dropped with every idle one (they went to the
//! same server), and the next call connects anew. Connections are pooled:
//! a call takes an idle one or opens one, and puts it back afterwards; one
//! left idle for more than a second is checked with `PING` first, so that
//! the first call after a restart of Redis does not fail on a connection
//! the old server closed.

use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use redis::{
    Connection, ConnectionAddr, ConnectionLike, IntoConnectionInfo, RedisConnectionInfo,
    RedisResult,
};

use super::{Backend, Failure, NOT_A_COUNTER, OVERFLOW};

/// The longest wait for a connection to open (and its handshake).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// The longest wait for one read or write on a connection.
const IO_TIMEOUT: Duration = Duration::from_secs(2);
/// An idle connection older than this is checked before it is used.
const CHECK_AFTER: Duration = Duration::from_secs(1);
/// Connections kept for reuse; more may be open while calls run at once.
const MAX_IDLE: usize = 16;

/// The prefix of each bucket's hash.
const VALUES: &str = "wasi-keyvalue:";
/// The prefix of each bucket's sorted set of keys.
const KEYS: &str = "wasi-keyvalue-keys:";

/// Where the server is, as `redis://HOST:PORT/DB` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RedisAddress {
    /// A host name, an IPv4 address, or an IPv6 one in brackets.
    host: String,
    port: u16,
    db: u32,
}

impl RedisAddress {
    /// Reads `redis://HOST:PORT/DB`, or `redis://HOST:PORT` for database 0.
    ///
    /// # Errors
    ///
    /// What is wrong, and what to write instead.
    pub(super) fn parse(url: &str) -> Result<Self, String> {
        let wrong = |why: String| {
            format!(
                "`{url}` is not a Redis address: {why}; write `redis://HOST:PORT/DB`, e.g. `redis://127.0.0.1:6379/0`"
            )
        };
        let rest = url
            .strip_prefix("redis://")
            .ok_or_else(|| wrong("it does not start with `redis://`".into()))?;
        if rest.contains(['@', '?', '#']) {
            return Err(wrong(
                "a user, a password or options are not supported".into(),
            ));
        }
        let (authority, db) = match rest.split_once('/') {
            Some((authority, db)) => (authority, Some(db)),
            None => (rest, None),
        };
        let (host, port) = authority
            .rsplit_once(':')
            .filter(|(host, _)| !host.is_empty() && !host.ends_with(':'))
            .ok_or_else(|| wrong("the host and port are missing (`HOST:PORT`)".into()))?;
        let port = port
            .parse::<u16>()
            .ok()
            .filter(|port| *port != 0)
            .ok_or_else(|| wrong(format!("`{port}` is not a port")))?;
        let host_ok = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            Some(v6) => v6.parse::<std::net::Ipv6Addr>().is_ok(),
            None => host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')),
        };
        if !host_ok {
            return Err(wrong(format!(
                "`{host}` is not a host name or an IP address"
            )));
        }
        let db = match db {
            None => 0,
            Some(db) => db
                .parse::<u32>()
                .map_err(|_| wrong(format!("`{db}` is not a database number")))?,
        };
        Ok(Self {
            host: host.to_string(),
            port,
            db,
        })
    }
}

impl fmt::Display for RedisAddress {
    /// `HOST:PORT`, as the operator reads it in a failure.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

/// Buckets in a Redis server, reached over pooled connections.
pub(super) struct Redis {
    client: redis::Client,
    idle: Mutex<Vec<Idle>>,
}

/// A connection waiting for the next call.
struct Idle {
    connection: Connection,
    since: Instant,
}

impl Redis {
    /// A client of the server at `address`; it connects at the first call.
    ///
    /// # Errors
    ///
    /// The client refused the address.
    pub(super) fn new(address: &RedisAddress) -> Result<Self, String> {
        let host = address.host.trim_start_matches('[').trim_end_matches(']');
        let info = ConnectionAddr::Tcp(host.to_string(), address.port)
            .into_connection_info()
            .map_err(|error| error.to_string())?
            .set_redis_settings(RedisConnectionInfo::default().set_db(i64::from(address.db)));
        let client = redis::Client::open(info).map_err(|error| error.to_string())?;
        Ok(Self {
            client,
            idle: Mutex::new(Vec::new()),
        })
    }

    /// Runs `op` on a connection, and keeps the connection for the next
    /// call unless it failed.
    fn with<T>(&self, op: impl FnOnce(&mut Connection) -> RedisResult<T>) -> Result<T, Failure> {
        let mut connection = self
            .connection()
            .map_err(|error| failed(&error, CONNECT_TIMEOUT))?;
        match op(&mut connection) {
            Ok(value) => {
                self.keep(connection);
                Ok(value)
            }
            Err(error) => {
                // A reply of the server leaves the connection in step; any
                // other failure (a timeout, a closed socket) may not.
                if matches!(error.kind(), redis::ErrorKind::Server(_)) && connection.is_open() {
                    self.keep(connection);
                } else {
                    self.forget_idle();
                }
                Err(failed(&error, IO_TIMEOUT))
            }
        }
    }

    /// An idle connection that still answers, or a new one.
    fn connection(&self) -> RedisResult<Connection> {
        loop {
            // Not `while let`: the pool's lock would be held through the body.
            let next = self.idle().pop();
            let Some(Idle {
                mut connection,
                since,
            }) = next
            else {
                break;
            };
            if since.elapsed() < CHECK_AFTER {
                return Ok(connection);
            }
            if redis::cmd("PING").query::<()>(&mut connection).is_ok() {
                return Ok(connection);
            }
            self.forget_idle();
        }
        let connection = self.client.get_connection_with_timeout(CONNECT_TIMEOUT)?;
        connection.set_read_timeout(Some(IO_TIMEOUT))?;
        connection.set_write_timeout(Some(IO_TIMEOUT))?;
        Ok(connection)
    }

    fn keep(&self, connection: Connection) {
        let mut idle = self.idle();
        if idle.len() < MAX_IDLE {
            idle.push(Idle {
                connection,
                since: Instant::now(),
            });
        }
    }

    fn forget_idle(&self) {
        self.idle().clear();
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<Idle>> {
        self.idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A Redis failure as the guest and the operator read it, after `redis at
/// HOST:PORT: `; a timeout says how long it waited (the OS says only
/// "resource temporarily unavailable").
fn failed(error: &redis::RedisError, waited: Duration) -> Failure {
    if error.is_timeout() {
        Failure::Store(format!("no answer within {} s", waited.as_secs()))
    } else {
        Failure::Store(error.to_string())
    }
}

fn values(bucket: &str) -> String {
    format!("{VALUES}{bucket}")
}

fn keys(bucket: &str) -> String {
    format!("{KEYS}{bucket}")
}

/// `increment`: `KEYS[1]` the bucket's hash, `KEYS[2]` its keys, `ARGV[1]`
/// the key, `ARGV[2]` the delta in decimal. Answers `{0, new value}`, or
/// `{1, ''}` when the value is not a counter, `{2, ''}` when it would
/// overflow. A counter is read as Rust's `u64::from_str` reads it (an
/// optional `+`, digits, leading zeros allowed) and written without them.
const INCREMENT: &str = r"
local MAX = '18446744073709551615'
local function fits(digits)
  return #digits < #MAX or (#digits == #MAX and digits <= MAX)
end
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current == false then
  current = '0'
else
  if string.sub(current, 1, 1) == '+' then current = string.sub(current, 2) end
  if not string.find(current, '^%d+$') then return {1, ''} end
  current = string.gsub(current, '^0+', '')
  if current == '' then current = '0' end
  if not fits(current) then return {1, ''} end
end
local delta = ARGV[2]
local digits, carry = {}, 0
local i, j = #current, #delta
while i > 0 or j > 0 or carry > 0 do
  local sum = carry
  if i > 0 then sum = sum + string.byte(current, i) - 48; i = i - 1 end
  if j > 0 then sum = sum + string.byte(delta, j) - 48; j = j - 1 end
  digits[#digits + 1] = string.char(48 + sum % 10)
  carry = math.floor(sum / 10)
end
local total = string.reverse(table.concat(digits))
if not fits(total) then return {2, ''} end
redis.call('HSET', KEYS[1], ARGV[1], total)
redis.call('ZADD', KEYS[2], 0, ARGV[1])
return {0, total}
";

fn increment_script() -> &'static redis::Script {
    static SCRIPT: std::sync::OnceLock<redis::Script> = std::sync::OnceLock::new();
    SCRIPT.get_or_init(|| redis::Script::new(INCREMENT))
}

impl Backend for Redis {
    fn reach(&self) -> Result<(), Failure> {
        self.with(|connection| redis::cmd("PING").query::<()>(connection))
    }

    fn get(&self, bucket: &str, key: &str) -> Result<Option<Vec<u8>>, Failure> {
        self.with(|connection| {
            redis::cmd("HGET")
                .arg(values(bucket))
                .arg(key)
                .query(connection)
        })
    }

    fn set_many(&self, bucket: &str, pairs: &[(String, Vec<u8>)]) -> Result<(), Failure> {
        if pairs.is_empty() {
            return Ok(());
        }
        let mut hset = redis::cmd("HSET");
        hset.arg(values(bucket));
        let mut zadd = redis::cmd("ZADD");
        zadd.arg(keys(bucket));
        for (key, value) in pairs {
            hset.arg(key).arg(value.as_slice());
            zadd.arg(0).arg(key);
        }
        self.with(|connection| {
            redis::pipe()
                .atomic()
                .add_command(hset)
                .ignore()
                .add_command(zadd)
                .ignore()
                .exec(connection)
        })
    }

    fn delete_many(&self, bucket: &str, names: &[String]) -> Result<(), Failure> {
        if names.is_empty() {
            return Ok(());
        }
        self.with(|connection| {
            redis::pipe()
                .atomic()
                .cmd("HDEL")
                .arg(values(bucket))
                .arg(names)
                .ignore()
                .cmd("ZREM")
                .arg(keys(bucket))
                .arg(names)
                .ignore()
                .exec(connection)
        })
    }

    fn keys(&self, bucket: &str, skip: usize, take: usize) -> Result<(Vec<String>, bool), Failure> {
        let start = i64::try_from(skip).unwrap_or(i64::MAX);
        // One key past the page says whether more follow.
        let stop = start.saturating_add(i64::try_from(take).unwrap_or(i64::MAX));
        let mut page: Vec<Vec<u8>> = self.with(|connection| {
            redis::cmd("ZRANGE")
                .arg(keys(bucket))
                .arg(start)
                .arg(stop)
                .query(connection)
        })?;
        let more = page.len() > take;
        page.truncate(take);
        let page = page
            .into_iter()
            .map(|key| {
                String::from_utf8(key).map_err(|_| {
                    Failure::Store(format!(
                        "the set `{KEYS}{bucket}` holds a key that is not UTF-8"
                    ))
                })
            })
            .collect::<Result<_, _>>()?;
        Ok((page, more))
    }

    fn increment(&self, bucket: &str, key: &str, delta: u64) -> Result<u64, Failure> {
        let (outcome, total): (u8, String) = self.with(|connection| {
            increment_script()
                .key(values(bucket))
                .key(keys(bucket))
                .arg(key)
                .arg(delta.to_string())
                .invoke(connection)
        })?;
        match outcome {
            0 => total
                .parse()
                .map_err(|_| Failure::Store(format!("the increment script answered `{total}`"))),
            1 => Err(Failure::Refused(NOT_A_COUNTER.into())),
            2 => Err(Failure::Refused(OVERFLOW.into())),
            other => Err(Failure::Store(format!(
                "the increment script answered {other}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_read_as_operators_write_them() {
        let read = |url: &str| RedisAddress::parse(url).map(|a| (a.to_string(), a.db));
        assert_eq!(
            read("redis://127.0.0.1:6379/2"),
            Ok(("127.0.0.1:6379".into(), 2))
        );
        assert_eq!(
            read("redis://cache.internal:6380"),
            Ok(("cache.internal:6380".into(), 0))
        );
        assert_eq!(read("redis://[::1]:6379/0"), Ok(("[::1]:6379".into(), 0)));
        for wrong in [
            "redis://",
            "redis://localhost",
            "redis://localhost:",
            "redis://localhost:0",
            "redis://localhost:70000",
            "redis://:6379",
            "redis://local host:6379",
            "redis://localhost:6379/",
            "redis://localhost:6379/x",
            "redis://user:pw@localhost:6379",
            "redis://localhost:6379/0?timeout=1",
            "redis://[::1:6379",
            "rediss://localhost:6379",
        ] {
            let error = RedisAddress::parse(wrong).unwrap_err();
            assert!(error.contains("redis://HOST:PORT/DB"), "{wrong}: {error}");
        }
    }
}
