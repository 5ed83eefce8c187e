//! The store of cluster mode: every node of a cluster reads and writes the same Redis.
//!
//! Keys (all under `alcove:`):
//!
//! | key | type | holds |
//! |---|---|---|
//! | `alcove:meta:{key}` | string | the token-signing secret, the admin key's hash, … |
//! | `alcove:app:{id}` | string (JSON) | an app: key hash, creation time |
//! | `alcove:apps` | sorted set | app ids by creation order |
//! | `alcove:room:{id}` | string (JSON) | a room and its app |
//! | `alcove:rooms:{app}` | sorted set | an app's room ids by creation order |
//! | `alcove:jti:{id}` | string, expiring | a used token id or spent resume credential |
//! | `alcove:family:{room}` | string (JSON) | a live family's snapshot (fenced writes) |
//! | `alcove:plans:{app}` | hash | an app's break-out plans by name |
//! | `alcove:seq` | counter | creation order of apps and rooms |
//!
//! The cluster's own keys (nodes, leases, generations) are in `cluster/mod.rs`.
//!
//! Calls are short and synchronous, like SQLite's: a small pool of blocking connections, each
//! behind a `std::sync::Mutex` (never held across an await), with connect, read and write
//! timeouts of [`TIMEOUT`] so that a dead Redis is an error within half a second, never a
//! hang. A connection that failed is dropped and made again on its next use, so service comes
//! back by itself when Redis does.

use super::{key_hash, same_digest, AppInfo, Credentials, StoreError, REPLAY_MEMORY_SECS};
use crate::util::{random_hex, rfc3339, unix_now};
use alcove_proto::api::Room;
use alcove_proto::RoomId;
use redis::{Commands, Connection, RedisResult};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Connect, read and write timeout of every Redis call.
pub const TIMEOUT: Duration = Duration::from_millis(500);
/// Connections in the pool.
const POOL: usize = 8;

/// The Redis-backed store.
pub struct RedisStore {
    client: redis::Client,
    pool: Vec<Mutex<Option<Connection>>>,
    next: AtomicUsize,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct AppRecord {
    key_hash: String,
    created: String,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct RoomRecord {
    app: String,
    room: Room,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct PlanRecord {
    plan: alcove_proto::signal::Plan,
    saved_at: u64,
}

fn meta_key(k: &str) -> String {
    format!("alcove:meta:{k}")
}
fn app_key(id: &str) -> String {
    format!("alcove:app:{id}")
}
fn room_key(id: &RoomId) -> String {
    format!("alcove:room:{}", id.as_str())
}
fn rooms_key(app: &str) -> String {
    format!("alcove:rooms:{app}")
}
/// The key of a family's snapshot.
pub(crate) fn family_key(id: &RoomId) -> String {
    format!("alcove:family:{}", id.as_str())
}
fn plans_key(app: &str) -> String {
    format!("alcove:plans:{app}")
}
fn jti_key(jti: &str) -> String {
    format!("alcove:jti:{jti}")
}

impl RedisStore {
    /// Connects to `url` and checks that Redis answers (`PING`).
    pub fn connect(url: &str) -> Result<RedisStore, StoreError> {
        let client = redis::Client::open(url)?;
        let store = RedisStore {
            client,
            pool: (0..POOL).map(|_| Mutex::new(None)).collect(),
            next: AtomicUsize::new(0),
        };
        store.with(|c| redis::cmd("PING").query::<String>(c))?;
        Ok(store)
    }

    fn open(&self) -> RedisResult<Connection> {
        let c = self.client.get_connection_with_timeout(TIMEOUT)?;
        c.set_read_timeout(Some(TIMEOUT))?;
        c.set_write_timeout(Some(TIMEOUT))?;
        Ok(c)
    }

    /// Runs `f` on a pooled connection (made on first use, dropped after a transport error).
    pub fn with<T>(
        &self,
        mut f: impl FnMut(&mut Connection) -> RedisResult<T>,
    ) -> Result<T, StoreError> {
        // A free connection if there is one; else wait for the next in turn.
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let mut slot = None;
        for i in 0..POOL {
            if let Ok(g) = self.pool[(start + i) % POOL].try_lock() {
                slot = Some(g);
                break;
            }
        }
        let mut guard = match slot {
            Some(g) => g,
            None => self.pool[start % POOL]
                .lock()
                .unwrap_or_else(|p| p.into_inner()),
        };
        let reused = guard.is_some();
        if guard.is_none() {
            *guard = Some(self.open()?);
        }
        let Some(conn) = guard.as_mut() else {
            unreachable!("set just above")
        };
        let mut result = f(conn);
        if let Err(e) = &result {
            // A pooled connection that Redis closed meanwhile (it restarted): the command
            // never reached the new Redis, so it is sent once more on a fresh connection.
            if reused && e.is_connection_dropped() {
                *guard = None;
                let mut fresh = self.open()?;
                result = f(&mut fresh);
                *guard = Some(fresh);
            }
        }
        match result {
            Ok(v) => Ok(v),
            Err(e) => {
                if e.is_io_error()
                    || e.is_timeout()
                    || e.is_connection_dropped()
                    || e.is_connection_refusal()
                {
                    // The reply may still come on this connection later: never reuse it.
                    *guard = None;
                }
                Err(e.into())
            }
        }
    }

    /// The token-signing secret, created on first use (the first node of a cluster makes it,
    /// every other node reads it).
    pub fn token_secret(&self) -> Result<Vec<u8>, StoreError> {
        let fresh = random_hex(32);
        let key = meta_key("token_secret");
        let secret: String = self.with(|c| {
            let _: Option<String> = redis::cmd("SET").arg(&key).arg(&fresh).arg("NX").query(c)?;
            c.get(&key)
        })?;
        Ok(secret.into_bytes())
    }

    /// A value of the `meta` table.
    pub fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.with(|c| c.get(meta_key(key)))
    }

    /// Sets a value of the `meta` table.
    pub fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.with(|c| c.set(meta_key(key), value))
    }

    /// Creates an app; [`StoreError::Exists`] when the id is taken.
    pub fn create_app(&self, app_id: &str) -> Result<Credentials, StoreError> {
        let key = random_hex(24);
        let record = serde_json::to_string(&AppRecord {
            key_hash: key_hash(&key),
            created: rfc3339(unix_now()),
        })?;
        let created: bool = self.with(|c| {
            let set: Option<String> = redis::cmd("SET")
                .arg(app_key(app_id))
                .arg(&record)
                .arg("NX")
                .query(c)?;
            if set.is_none() {
                return Ok(false);
            }
            let seq: i64 = c.incr("alcove:seq", 1)?;
            let _: () = c.zadd("alcove:apps", app_id, seq)?;
            Ok(true)
        })?;
        if !created {
            return Err(StoreError::Exists);
        }
        Ok(Credentials {
            app_id: app_id.to_owned(),
            app_key: key,
        })
    }

    /// True when an app with this id exists.
    pub fn app_exists(&self, app_id: &str) -> Result<bool, StoreError> {
        self.with(|c| c.exists(app_key(app_id)))
    }

    fn app(&self, app_id: &str) -> Result<Option<AppRecord>, StoreError> {
        let text: Option<String> = self.with(|c| c.get(app_key(app_id)))?;
        Ok(match text {
            Some(t) => Some(serde_json::from_str(&t)?),
            None => None,
        })
    }

    /// Every app, oldest first, with how many rooms it owns.
    pub fn apps(&self) -> Result<Vec<AppInfo>, StoreError> {
        let ids: Vec<String> = self.with(|c| c.zrange("alcove:apps", 0, -1))?;
        let mut out = Vec::new();
        for id in ids {
            let Some(app) = self.app(&id)? else { continue };
            let rooms: u64 = self.with(|c| c.zcard(rooms_key(&id)))?;
            out.push(AppInfo {
                app_id: id,
                created: app.created,
                rooms,
            });
        }
        Ok(out)
    }

    /// Gives an app a fresh random key; `None` when the app does not exist.
    pub fn rotate_key(&self, app_id: &str) -> Result<Option<Credentials>, StoreError> {
        let Some(mut app) = self.app(app_id)? else {
            return Ok(None);
        };
        let key = random_hex(24);
        app.key_hash = key_hash(&key);
        let text = serde_json::to_string(&app)?;
        let set: Option<String> = self.with(|c| {
            redis::cmd("SET")
                .arg(app_key(app_id))
                .arg(&text)
                .arg("XX")
                .query(c)
        })?;
        Ok(set.map(|_| Credentials {
            app_id: app_id.to_owned(),
            app_key: key,
        }))
    }

    /// Deletes an app, its rooms and their saved live state.
    pub fn delete_app(&self, app_id: &str) -> Result<Option<Vec<RoomId>>, StoreError> {
        if !self.app_exists(app_id)? {
            return Ok(None);
        }
        let ids: Vec<String> = self.with(|c| c.zrange(rooms_key(app_id), 0, -1))?;
        let rooms: Vec<RoomId> = ids.into_iter().map(RoomId).collect();
        self.with(|c| {
            let mut p = redis::pipe();
            p.atomic();
            for r in &rooms {
                p.del(room_key(r)).ignore();
                p.del(family_key(r)).ignore();
            }
            p.del(rooms_key(app_id)).ignore();
            p.del(plans_key(app_id)).ignore();
            p.del(format!("alcove:webhook:{app_id}")).ignore();
            p.del(app_key(app_id)).ignore();
            p.zrem("alcove:apps", app_id).ignore();
            p.query::<()>(c)
        })?;
        Ok(Some(rooms))
    }

    /// Checks credentials.
    pub fn authenticate(&self, app_id: &str, app_key: &str) -> Result<bool, StoreError> {
        Ok(match self.app(app_id)? {
            Some(app) => same_digest(&app.key_hash, &key_hash(app_key)),
            None => false,
        })
    }

    /// Stores a new room for `app_id`.
    pub fn insert_room(&self, app_id: &str, room: &Room) -> Result<(), StoreError> {
        let text = serde_json::to_string(&RoomRecord {
            app: app_id.to_owned(),
            room: room.clone(),
        })?;
        self.with(|c| {
            let seq: i64 = c.incr("alcove:seq", 1)?;
            redis::pipe()
                .atomic()
                .set(room_key(&room.room_id), &text)
                .ignore()
                .zadd(rooms_key(app_id), room.room_id.as_str(), seq)
                .ignore()
                .query::<()>(c)
        })
    }

    /// A room and the app that owns it.
    pub fn room(&self, room_id: &RoomId) -> Result<Option<(String, Room)>, StoreError> {
        let text: Option<String> = self.with(|c| c.get(room_key(room_id)))?;
        Ok(match text {
            Some(t) => {
                let r: RoomRecord = serde_json::from_str(&t)?;
                Some((r.app, r.room))
            }
            None => None,
        })
    }

    /// Every room of an app, oldest first.
    pub fn rooms(&self, app_id: &str) -> Result<Vec<Room>, StoreError> {
        let ids: Vec<String> = self.with(|c| c.zrange(rooms_key(app_id), 0, -1))?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = ids.iter().map(|i| room_key(&RoomId(i.clone()))).collect();
        let texts: Vec<Option<String>> = self.with(|c| redis::cmd("MGET").arg(&keys).query(c))?;
        let mut out = Vec::new();
        for t in texts.into_iter().flatten() {
            let r: RoomRecord = serde_json::from_str(&t)?;
            out.push(r.room);
        }
        Ok(out)
    }

    /// Deletes a room (and its saved live state); false when it did not exist.
    pub fn delete_room(&self, room_id: &RoomId) -> Result<bool, StoreError> {
        let Some((app, _)) = self.room(room_id)? else {
            return Ok(false);
        };
        let n: (i64,) = self.with(|c| {
            redis::pipe()
                .atomic()
                .del(room_key(room_id))
                .zrem(rooms_key(&app), room_id.as_str())
                .ignore()
                .del(family_key(room_id))
                .ignore()
                .query(c)
        })?;
        Ok(n.0 > 0)
    }

    /// Saves a family's snapshot without fencing (cluster mode writes through the fenced
    /// `cluster::Cluster::save_family`).
    pub fn save_family(&self, room_id: &RoomId, snapshot: &str) -> Result<(), StoreError> {
        self.with(|c| c.set(family_key(room_id), snapshot))
    }

    /// A family's snapshot, if one is saved.
    pub fn family(&self, room_id: &RoomId) -> Result<Option<String>, StoreError> {
        self.with(|c| c.get(family_key(room_id)))
    }

    /// Stores a break-out plan for an app; returns the time it was saved (Unix ms).
    pub fn save_plan(
        &self,
        app_id: &str,
        plan: &alcove_proto::signal::Plan,
    ) -> Result<u64, StoreError> {
        let now = crate::util::unix_now_ms();
        let text = serde_json::to_string(&PlanRecord {
            plan: plan.clone(),
            saved_at: now,
        })?;
        self.with(|c| c.hset::<_, _, _, ()>(plans_key(app_id), &plan.name, &text))?;
        Ok(now)
    }

    /// One of an app's plans by name.
    pub fn plan(
        &self,
        app_id: &str,
        name: &str,
    ) -> Result<Option<alcove_proto::signal::Plan>, StoreError> {
        let text: Option<String> = self.with(|c| c.hget(plans_key(app_id), name))?;
        Ok(match text {
            Some(t) => Some(serde_json::from_str::<PlanRecord>(&t)?.plan),
            None => None,
        })
    }

    /// An app's plans, by name.
    pub fn plans(
        &self,
        app_id: &str,
    ) -> Result<Vec<alcove_proto::signal::PlanSummary>, StoreError> {
        let all: std::collections::BTreeMap<String, String> =
            self.with(|c| c.hgetall(plans_key(app_id)))?;
        let mut out = Vec::new();
        for text in all.values() {
            let PlanRecord { plan, saved_at } = serde_json::from_str(text)?;
            out.push(alcove_proto::signal::PlanSummary {
                name: plan.name.clone(),
                rooms: u32::try_from(plan.rooms.len()).unwrap_or(u32::MAX),
                members: u32::try_from(plan.rooms.iter().map(|r| r.members.len()).sum::<usize>())
                    .unwrap_or(u32::MAX),
                saved_at,
            });
        }
        Ok(out)
    }

    /// Forgets a family's state without fencing.
    pub fn delete_family(&self, room_id: &RoomId) -> Result<(), StoreError> {
        self.with(|c| c.del(family_key(room_id)))
    }

    /// Empty: in cluster mode a family is restored when it is placed, never at start-up.
    pub fn families(&self) -> Result<Vec<(RoomId, String)>, StoreError> {
        Ok(Vec::new())
    }

    /// Whether a token id was used already, on any node.
    pub fn token_used(&self, jti: &str) -> Result<bool, StoreError> {
        self.with(|c| c.exists(jti_key(jti)))
    }

    /// Marks a token id used across the cluster (`SET … NX PXAT`); false when it already
    /// was. The id expires [`REPLAY_MEMORY_SECS`] after the token.
    pub fn use_token(&self, jti: &str, exp: u64) -> Result<bool, StoreError> {
        let at_ms = exp.saturating_add(REPLAY_MEMORY_SECS).saturating_mul(1000);
        let set: Option<String> = self.with(|c| {
            redis::cmd("SET")
                .arg(jti_key(jti))
                .arg(1)
                .arg("NX")
                .arg("PXAT")
                .arg(at_ms)
                .query(c)
        })?;
        Ok(set.is_some())
    }
}
