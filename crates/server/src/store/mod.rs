//! The store: apps (credentials), rooms, used token ids, the token-signing secret, resume
//! credentials spent, plans and live family snapshots.
//!
//! Two backends behind one type, [`Store`]: the embedded SQLite file of single-node mode
//! (`sqlite.rs`, the default) and Redis in cluster mode (`redis.rs`, `alcove serve --redis`),
//! which every node of a cluster shares. Callers do not know which one they have.

mod redis_store;
mod sqlite;

pub(crate) use redis_store::family_key;
pub use redis_store::RedisStore;
pub use sqlite::SqliteStore;

use crate::util::hex;
use alcove_proto::api::Room;
use alcove_proto::RoomId;
use sha2::{Digest, Sha256};
use std::path::Path;
use std::sync::Arc;

/// Errors of the store; the REST layer maps them to 1138 (503 when Redis is unreachable) and
/// logs the detail.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// SQLite failed.
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored JSON column did not parse.
    #[error("stored json: {0}")]
    Json(#[from] serde_json::Error),
    /// Redis failed (cluster mode): unreachable, timed out, or an unexpected reply. The REST
    /// layer answers 503 and signalling 1138; the next call reconnects.
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// The record to create exists already (cluster mode: an app id taken).
    #[error("already exists")]
    Exists,
    /// The database file (or its folder) cannot be written: the server refuses to start
    /// rather than fail every write later.
    #[error(
        "the database {0} is read-only: Alcove writes it (rooms, used tokens, live state); \
         check the permissions and owner of the file and its folder, and that the filesystem \
         is mounted read-write"
    )]
    ReadOnly(std::path::PathBuf),
}

/// An app as the admin API lists it (never its key).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct AppInfo {
    /// The app id.
    pub app_id: String,
    /// When it was created (RFC 3339).
    pub created: String,
    /// How many rooms it owns.
    pub rooms: u64,
}

/// App credentials as printed once at creation; only the key's hash is stored.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Credentials {
    /// The app id (HTTP Basic user).
    pub app_id: String,
    /// The app key (HTTP Basic password).
    pub app_key: String,
}

/// SHA-256 of a key, hex: what the database keeps of app keys (and of the admin key).
/// Keys are 192 random bits, so a plain hash is as good as a slow one here.
pub(crate) fn key_hash(key: &str) -> String {
    hex(&Sha256::digest(key.as_bytes()))
}

/// Compares two hex digests in constant time.
pub(crate) fn same_digest(stored: &str, given: &str) -> bool {
    stored.len() == given.len()
        && stored
            .bytes()
            .zip(given.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// How long past its expiry a used token's id is remembered (a replay within it reports 4103,
/// later 4102): one day.
pub const REPLAY_MEMORY_SECS: u64 = 86_400;

/// The store of a server: SQLite (single node) or Redis (cluster).
pub enum Store {
    /// The embedded database of single-node mode.
    Sqlite(SqliteStore),
    /// The shared store of cluster mode.
    Redis(Arc<RedisStore>),
}

macro_rules! dispatch {
    ($self:ident . $m:ident ( $($a:expr),* )) => {
        match $self {
            Store::Sqlite(s) => s.$m($($a),*),
            Store::Redis(r) => r.$m($($a),*),
        }
    };
}

impl Store {
    /// Opens (creating if needed) the SQLite database `alcove.db` in `dir`.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        Ok(Store::Sqlite(SqliteStore::open(dir)?))
    }

    /// Connects to Redis at `url` (`redis://HOST:PORT[/DB]`); fails at once when it does not
    /// answer.
    pub fn redis(url: &str) -> Result<Store, StoreError> {
        Ok(Store::Redis(Arc::new(RedisStore::connect(url)?)))
    }

    /// The Redis backend, in cluster mode.
    pub fn as_redis(&self) -> Option<&Arc<RedisStore>> {
        match self {
            Store::Redis(r) => Some(r),
            Store::Sqlite(_) => None,
        }
    }

    /// The token-signing secret, created on first use.
    pub fn token_secret(&self) -> Result<Vec<u8>, StoreError> {
        dispatch!(self.token_secret())
    }

    /// A value of the `meta` table.
    pub fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        dispatch!(self.meta(key))
    }

    /// Sets a value of the `meta` table.
    pub fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        dispatch!(self.set_meta(key, value))
    }

    /// Creates an app with a fresh random key; returns the credentials (the key only now).
    pub fn create_app(&self, app_id: &str) -> Result<Credentials, StoreError> {
        dispatch!(self.create_app(app_id))
    }

    /// True when an app with this id exists.
    pub fn app_exists(&self, app_id: &str) -> Result<bool, StoreError> {
        dispatch!(self.app_exists(app_id))
    }

    /// Every app, oldest first, with how many rooms it owns.
    pub fn apps(&self) -> Result<Vec<AppInfo>, StoreError> {
        dispatch!(self.apps())
    }

    /// Gives an app a fresh random key; `None` when the app does not exist.
    pub fn rotate_key(&self, app_id: &str) -> Result<Option<Credentials>, StoreError> {
        dispatch!(self.rotate_key(app_id))
    }

    /// Deletes an app, its rooms and their saved live state. Returns the ids of the rooms
    /// deleted, or `None` when the app does not exist.
    pub fn delete_app(&self, app_id: &str) -> Result<Option<Vec<RoomId>>, StoreError> {
        dispatch!(self.delete_app(app_id))
    }

    /// Checks credentials.
    pub fn authenticate(&self, app_id: &str, app_key: &str) -> Result<bool, StoreError> {
        dispatch!(self.authenticate(app_id, app_key))
    }

    /// Stores a new room for `app_id`.
    pub fn insert_room(&self, app_id: &str, room: &Room) -> Result<(), StoreError> {
        dispatch!(self.insert_room(app_id, room))
    }

    /// A room and the app that owns it.
    pub fn room(&self, room_id: &RoomId) -> Result<Option<(String, Room)>, StoreError> {
        dispatch!(self.room(room_id))
    }

    /// Every room of an app, oldest first.
    pub fn rooms(&self, app_id: &str) -> Result<Vec<Room>, StoreError> {
        dispatch!(self.rooms(app_id))
    }

    /// Deletes a room; false when it did not exist.
    pub fn delete_room(&self, room_id: &RoomId) -> Result<bool, StoreError> {
        dispatch!(self.delete_room(room_id))
    }

    /// Saves a live family's break-out state (replaces the previous snapshot). In cluster
    /// mode the family task writes through `cluster::Cluster::save_family` instead (fenced).
    pub fn save_family(&self, room_id: &RoomId, snapshot: &str) -> Result<(), StoreError> {
        dispatch!(self.save_family(room_id, snapshot))
    }

    /// Stores a break-out plan for an app; returns the time it was saved (Unix ms).
    pub fn save_plan(
        &self,
        app_id: &str,
        plan: &alcove_proto::signal::Plan,
    ) -> Result<u64, StoreError> {
        dispatch!(self.save_plan(app_id, plan))
    }

    /// One of an app's plans by name.
    pub fn plan(
        &self,
        app_id: &str,
        name: &str,
    ) -> Result<Option<alcove_proto::signal::Plan>, StoreError> {
        dispatch!(self.plan(app_id, name))
    }

    /// An app's plans, by name.
    pub fn plans(
        &self,
        app_id: &str,
    ) -> Result<Vec<alcove_proto::signal::PlanSummary>, StoreError> {
        dispatch!(self.plans(app_id))
    }

    /// Forgets a family's state (it ended).
    pub fn delete_family(&self, room_id: &RoomId) -> Result<(), StoreError> {
        dispatch!(self.delete_family(room_id))
    }

    /// Every saved family state (read at start-up in single-node mode; empty in cluster mode,
    /// where a family is restored when it is placed).
    pub fn families(&self) -> Result<Vec<(RoomId, String)>, StoreError> {
        dispatch!(self.families())
    }

    /// Whether a token id was used already (a replay).
    pub fn token_used(&self, jti: &str) -> Result<bool, StoreError> {
        dispatch!(self.token_used(jti))
    }

    /// Marks a token id used; false when it already was (replay). `exp` is the token's expiry
    /// (Unix seconds): the id is kept [`REPLAY_MEMORY_SECS`] past it.
    pub fn use_token(&self, jti: &str, exp: u64) -> Result<bool, StoreError> {
        dispatch!(self.use_token(jti, exp))
    }
}

impl StoreError {
    /// True when the store could not be reached (Redis down or timing out): the REST layer
    /// answers 503 rather than 500.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Redis(e) => {
                e.is_io_error()
                    || e.is_timeout()
                    || e.is_connection_dropped()
                    || e.is_connection_refusal()
            }
            _ => false,
        }
    }
}
