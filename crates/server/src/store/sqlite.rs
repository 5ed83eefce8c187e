//! The embedded database (single-node mode): apps (credentials), rooms, used token ids and the
//! token-signing secret, in one SQLite file under the data directory. It survives restarts.
//!
//! Every call is a short synchronous statement, so the connection sits behind a
//! `std::sync::Mutex` (never held across an `.await`), as mini-redis does for its `Db`.

use super::{key_hash, same_digest, AppInfo, Credentials, StoreError, REPLAY_MEMORY_SECS};
use crate::util::{random_hex, rfc3339, unix_now};
use alcove_proto::api::{Room, RoomSettings};
use alcove_proto::RoomId;
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;
use std::sync::Mutex;

/// The SQLite-backed store.
pub struct SqliteStore {
    // std Mutex: statements are short and synchronous; never held across an await.
    conn: Mutex<Connection>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS apps (app_id TEXT PRIMARY KEY, key_hash TEXT NOT NULL, created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rooms (
    room_id TEXT PRIMARY KEY, app_id TEXT NOT NULL, name TEXT NOT NULL, owner_ref TEXT NOT NULL,
    settings TEXT NOT NULL, data TEXT NOT NULL, created TEXT NOT NULL,
    seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS used_tokens (jti TEXT PRIMARY KEY, exp INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS family_state (room_id TEXT PRIMARY KEY, snapshot TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS plans (
    app_id TEXT NOT NULL, name TEXT NOT NULL, plan TEXT NOT NULL, saved_at INTEGER NOT NULL,
    PRIMARY KEY (app_id, name));
CREATE TABLE IF NOT EXISTS webhooks (
    app_id TEXT PRIMARY KEY, url TEXT NOT NULL, secret TEXT NOT NULL, created TEXT NOT NULL);
";

/// Replaces any app key stored in clear (a row written by hand or by another tool: anything but
/// 64 lowercase hex digits) by its SHA-256, so that every row is a hash from this open on.
fn hash_clear_keys(conn: &Connection) -> Result<(), rusqlite::Error> {
    let clear: Vec<(String, String)> = {
        let mut stmt = conn.prepare(
            "SELECT app_id, key_hash FROM apps
             WHERE length(key_hash) != 64 OR key_hash GLOB '*[^0-9a-f]*'",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<Result<_, _>>()?
    };
    for (app_id, key) in clear {
        conn.execute(
            "UPDATE apps SET key_hash=?2 WHERE app_id=?1",
            params![app_id, key_hash(&key)],
        )?;
        tracing::warn!(app = %app_id, "an app key was stored in clear: replaced by its hash");
    }
    Ok(())
}

impl SqliteStore {
    /// Opens (creating if needed) `alcove.db` in `dir`.
    ///
    /// Refuses ([`StoreError::ReadOnly`]) a database it cannot write: SQLite opens a file it
    /// may not write read-only without a word, and every write would fail later.
    pub fn open(dir: &Path) -> Result<SqliteStore, StoreError> {
        let path = dir.join("alcove.db");
        let read_only = || StoreError::ReadOnly(path.clone());
        let conn = Connection::open(&path)?;
        if conn.is_readonly(rusqlite::MAIN_DB)? {
            return Err(read_only());
        }
        let is_read_only = |e: &rusqlite::Error| {
            matches!(
                e.sqlite_error_code(),
                Some(rusqlite::ErrorCode::ReadOnly | rusqlite::ErrorCode::CannotOpen)
            )
        };
        let setup = || -> Result<(), rusqlite::Error> {
            conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")?;
            conn.execute_batch(SCHEMA)?;
            hash_clear_keys(&conn)?;
            // A real write, so that a file that opened writable but cannot be written (its
            // folder or filesystem is read-only) is refused now rather than at the first room.
            conn.execute(
                "INSERT INTO meta(key, value) VALUES('opened', ?1)
                 ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                params![rfc3339(unix_now())],
            )?;
            Ok(())
        };
        if let Err(e) = setup() {
            return Err(if is_read_only(&e) {
                read_only()
            } else {
                e.into()
            });
        }
        Ok(SqliteStore {
            conn: Mutex::new(conn),
        })
    }

    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite inconsistent (it has its own
        // transactions), so a poisoned lock is still usable.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The token-signing secret, created on first use.
    pub fn token_secret(&self) -> Result<Vec<u8>, StoreError> {
        let conn = self.lock();
        let found: Option<String> = conn
            .query_row("SELECT value FROM meta WHERE key='token_secret'", [], |r| {
                r.get(0)
            })
            .optional()?;
        let secret = match found {
            Some(s) => s,
            None => {
                let s = random_hex(32);
                conn.execute(
                    "INSERT INTO meta(key, value) VALUES('token_secret', ?1)",
                    params![s],
                )?;
                s
            }
        };
        Ok(secret.into_bytes())
    }

    /// A value of the `meta` table.
    pub fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .lock()
            .query_row("SELECT value FROM meta WHERE key=?1", params![key], |r| {
                r.get(0)
            })
            .optional()?)
    }

    /// Sets a value of the `meta` table.
    pub fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.lock().execute(
            "INSERT INTO meta(key, value) VALUES(?1, ?2) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    /// Creates an app with a fresh random key; returns the credentials (the key only now).
    pub fn create_app(&self, app_id: &str) -> Result<Credentials, StoreError> {
        let key = random_hex(24);
        self.lock().execute(
            "INSERT INTO apps(app_id, key_hash, created) VALUES(?1, ?2, ?3)",
            params![app_id, key_hash(&key), rfc3339(unix_now())],
        )?;
        Ok(Credentials {
            app_id: app_id.to_owned(),
            app_key: key,
        })
    }

    /// True when an app with this id exists.
    pub fn app_exists(&self, app_id: &str) -> Result<bool, StoreError> {
        let n: i64 = self.lock().query_row(
            "SELECT COUNT(*) FROM apps WHERE app_id=?1",
            params![app_id],
            |r| r.get(0),
        )?;
        Ok(n > 0)
    }

    /// Every app, oldest first, with how many rooms it owns.
    pub fn apps(&self) -> Result<Vec<AppInfo>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn.prepare(
            "SELECT a.app_id, a.created, (SELECT COUNT(*) FROM rooms r WHERE r.app_id = a.app_id)
             FROM apps a ORDER BY a.created, a.app_id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(AppInfo {
                app_id: r.get(0)?,
                created: r.get(1)?,
                rooms: r.get::<_, i64>(2)?.try_into().unwrap_or(0),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Gives an app a fresh random key; the old one stops working with this statement (every
    /// request reads the stored hash). `None` when the app does not exist.
    pub fn rotate_key(&self, app_id: &str) -> Result<Option<Credentials>, StoreError> {
        let key = random_hex(24);
        let n = self.lock().execute(
            "UPDATE apps SET key_hash=?2 WHERE app_id=?1",
            params![app_id, key_hash(&key)],
        )?;
        Ok((n == 1).then(|| Credentials {
            app_id: app_id.to_owned(),
            app_key: key,
        }))
    }

    /// Deletes an app, its rooms and their saved live state, in one transaction. Returns the
    /// ids of the rooms deleted (their live families are for the caller to end), or `None`
    /// when the app does not exist.
    pub fn delete_app(&self, app_id: &str) -> Result<Option<Vec<RoomId>>, StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let rooms: Vec<RoomId> = {
            let mut stmt = tx.prepare("SELECT room_id FROM rooms WHERE app_id=?1")?;
            let rows = stmt.query_map(params![app_id], |r| Ok(RoomId(r.get(0)?)))?;
            rows.collect::<Result<_, _>>()?
        };
        tx.execute(
            "DELETE FROM family_state WHERE room_id IN (SELECT room_id FROM rooms WHERE app_id=?1)",
            params![app_id],
        )?;
        tx.execute("DELETE FROM rooms WHERE app_id=?1", params![app_id])?;
        tx.execute("DELETE FROM webhooks WHERE app_id=?1", params![app_id])?;
        let n = tx.execute("DELETE FROM apps WHERE app_id=?1", params![app_id])?;
        if n == 0 {
            // Nothing to delete: leave everything as it was.
            return Ok(None);
        }
        tx.commit()?;
        Ok(Some(rooms))
    }

    /// Checks credentials.
    pub fn authenticate(&self, app_id: &str, app_key: &str) -> Result<bool, StoreError> {
        let stored: Option<String> = self
            .lock()
            .query_row(
                "SELECT key_hash FROM apps WHERE app_id=?1",
                params![app_id],
                |r| r.get(0),
            )
            .optional()?;
        let Some(stored) = stored else {
            return Ok(false);
        };
        Ok(same_digest(&stored, &key_hash(app_key)))
    }

    /// Stores a new room for `app_id`.
    pub fn insert_room(&self, app_id: &str, room: &Room) -> Result<(), StoreError> {
        let conn = self.lock();
        let seq: i64 = conn.query_row("SELECT COALESCE(MAX(seq), 0) + 1 FROM rooms", [], |r| {
            r.get(0)
        })?;
        conn.execute(
            "INSERT INTO rooms(room_id, app_id, name, owner_ref, settings, data, created, seq)
             VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                room.room_id.as_str(),
                app_id,
                room.name,
                room.owner_ref,
                serde_json::to_string(&room.settings)?,
                serde_json::to_string(&room.data)?,
                room.created,
                seq
            ],
        )?;
        Ok(())
    }

    fn row_to_room(
        r: &rusqlite::Row<'_>,
    ) -> rusqlite::Result<(String, String, String, String, String, String)> {
        Ok((
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
        ))
    }

    fn build_room(t: (String, String, String, String, String, String)) -> Result<Room, StoreError> {
        let settings: RoomSettings = serde_json::from_str(&t.3)?;
        Ok(Room {
            room_id: RoomId(t.0),
            name: t.1,
            owner_ref: t.2,
            settings,
            data: serde_json::from_str(&t.4)?,
            created: t.5,
        })
    }

    /// A room and the app that owns it.
    pub fn room(&self, room_id: &RoomId) -> Result<Option<(String, Room)>, StoreError> {
        let conn = self.lock();
        let row = conn
            .query_row(
                "SELECT room_id, name, owner_ref, settings, data, created, app_id FROM rooms WHERE room_id=?1",
                params![room_id.as_str()],
                |r| Ok((Self::row_to_room(r)?, r.get::<_, String>(6)?)),
            )
            .optional()?;
        match row {
            None => Ok(None),
            Some((t, app)) => Ok(Some((app, Self::build_room(t)?))),
        }
    }

    /// Every room of an app, oldest first.
    pub fn rooms(&self, app_id: &str) -> Result<Vec<Room>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn.prepare(
            "SELECT room_id, name, owner_ref, settings, data, created FROM rooms WHERE app_id=?1 ORDER BY seq",
        )?;
        let rows = stmt.query_map(params![app_id], Self::row_to_room)?;
        let mut out = Vec::new();
        for r in rows {
            out.push(Self::build_room(r?)?);
        }
        Ok(out)
    }

    /// Deletes a room; false when it did not exist.
    pub fn delete_room(&self, room_id: &RoomId) -> Result<bool, StoreError> {
        let n = self.lock().execute(
            "DELETE FROM rooms WHERE room_id=?1",
            params![room_id.as_str()],
        )?;
        Ok(n > 0)
    }

    /// Saves a live family's break-out state (replaces the previous snapshot).
    pub fn save_family(&self, room_id: &RoomId, snapshot: &str) -> Result<(), StoreError> {
        self.lock().execute(
            "INSERT INTO family_state(room_id, snapshot) VALUES(?1, ?2)
             ON CONFLICT(room_id) DO UPDATE SET snapshot=excluded.snapshot",
            params![room_id.as_str(), snapshot],
        )?;
        Ok(())
    }

    /// Stores a break-out plan for an app (replacing one of the same name); returns the time
    /// it was saved (Unix ms).
    pub fn save_plan(
        &self,
        app_id: &str,
        plan: &alcove_proto::signal::Plan,
    ) -> Result<u64, StoreError> {
        let text = serde_json::to_string(plan)?;
        let now = crate::util::unix_now_ms();
        self.lock().execute(
            "INSERT INTO plans(app_id, name, plan, saved_at) VALUES(?1, ?2, ?3, ?4)
             ON CONFLICT(app_id, name) DO UPDATE SET plan=excluded.plan, saved_at=excluded.saved_at",
            params![app_id, plan.name, text, i64::try_from(now).unwrap_or(i64::MAX)],
        )?;
        Ok(now)
    }

    /// One of an app's plans by name.
    pub fn plan(
        &self,
        app_id: &str,
        name: &str,
    ) -> Result<Option<alcove_proto::signal::Plan>, StoreError> {
        let conn = self.lock();
        let text: Option<String> = conn
            .query_row(
                "SELECT plan FROM plans WHERE app_id=?1 AND name=?2",
                params![app_id, name],
                |r| r.get(0),
            )
            .optional()?;
        match text {
            None => Ok(None),
            Some(t) => Ok(Some(serde_json::from_str(&t)?)),
        }
    }

    /// An app's plans, by name.
    pub fn plans(
        &self,
        app_id: &str,
    ) -> Result<Vec<alcove_proto::signal::PlanSummary>, StoreError> {
        let conn = self.lock();
        let mut stmt =
            conn.prepare("SELECT plan, saved_at FROM plans WHERE app_id=?1 ORDER BY name")?;
        let rows = stmt.query_map(params![app_id], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        })?;
        let mut out = Vec::new();
        for r in rows {
            let (text, saved_at) = r?;
            let plan: alcove_proto::signal::Plan = serde_json::from_str(&text)?;
            out.push(alcove_proto::signal::PlanSummary {
                name: plan.name.clone(),
                rooms: u32::try_from(plan.rooms.len()).unwrap_or(u32::MAX),
                members: u32::try_from(plan.rooms.iter().map(|r| r.members.len()).sum::<usize>())
                    .unwrap_or(u32::MAX),
                saved_at: u64::try_from(saved_at).unwrap_or(0),
            });
        }
        Ok(out)
    }

    /// Forgets a family's state (it ended).
    pub fn delete_family(&self, room_id: &RoomId) -> Result<(), StoreError> {
        self.lock().execute(
            "DELETE FROM family_state WHERE room_id=?1",
            params![room_id.as_str()],
        )?;
        Ok(())
    }

    /// Every saved family state (read at start-up).
    pub fn families(&self) -> Result<Vec<(RoomId, String)>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn.prepare("SELECT room_id, snapshot FROM family_state")?;
        let rows = stmt.query_map([], |r| Ok((RoomId(r.get(0)?), r.get(1)?)))?;
        let mut out = Vec::new();
        for r in rows {
            out.push(r?);
        }
        Ok(out)
    }

    /// Whether a token id was used already (a replay). Read before the expiry check, so that
    /// a replayed token reports 4103 whether or not it has expired since.
    pub fn token_used(&self, jti: &str) -> Result<bool, StoreError> {
        let conn = self.lock();
        Ok(conn
            .query_row(
                "SELECT 1 FROM used_tokens WHERE jti = ?1",
                params![jti],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// Marks a token id used; false when it already was (replay). `exp` is the token's expiry
    /// (Unix seconds): the id is kept [`REPLAY_MEMORY_SECS`] past it, then dropped.
    pub fn use_token(&self, jti: &str, exp: u64) -> Result<bool, StoreError> {
        let conn = self.lock();
        let now = unix_now();
        // An expired token never connects, so its id only serves to answer a replay with 4103
        // rather than 4102; a day past its expiry it is dropped (docs/errors.md).
        conn.execute(
            "DELETE FROM used_tokens WHERE exp < ?1",
            params![now.saturating_sub(REPLAY_MEMORY_SECS) as i64],
        )?;
        let n = conn.execute(
            "INSERT OR IGNORE INTO used_tokens(jti, exp) VALUES(?1, ?2)",
            params![jti, exp as i64],
        )?;
        Ok(n == 1)
    }
}
