//! The admin API: create, list, rotate the key of and delete apps (`/v1/admin/apps…`), so that
//! a real deployment (`--no-dev-app`) has apps without a development mode.
//!
//! It is authenticated by the **admin key** (`Authorization: Bearer <key>`, see
//! [`super::AdminAuth`]), which the first start creates in `<data dir>/admin-key` with mode
//! 0600 ([`prepare_key`]) and never prints. The database keeps only its SHA-256, as it does for
//! app keys. `alcove app create | list | rotate-key | delete` call these routes with the key
//! read from that file. docs/security.md, "Apps and tenancy", has the whole picture.

use super::{AdminAuth, ApiError};
use crate::driver::FamilyMsg;
use crate::store::{key_hash, AppInfo, Store};
use crate::util::random_hex;
use crate::{AppState, DEV_APP_ID, DEV_CREDENTIALS_FILE};
use alcove_proto::api::ErrorResponse;
use anyhow::{bail, Context};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use std::path::Path as FsPath;
use std::sync::Arc;

/// File in the data dir holding the admin key (mode 0600).
pub const ADMIN_KEY_FILE: &str = "admin-key";
/// `meta` row holding the SHA-256 of the admin key.
pub(crate) const ADMIN_KEY_HASH: &str = "admin_key_hash";
/// Shortest admin key accepted from the file (the server makes 64 hex characters).
const MIN_ADMIN_KEY: usize = 32;

/// Makes sure the data dir has an admin key and the database its hash: reads
/// `<dir>/admin-key`, or creates it (mode 0600, 256 random bits) when it is missing. Returns
/// true when it was created. The key itself is never printed or logged; to replace it, delete
/// the file and restart.
pub fn prepare_key(store: &Store, dir: &FsPath) -> anyhow::Result<bool> {
    let path = dir.join(ADMIN_KEY_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let key = text.trim();
            if key.len() < MIN_ADMIN_KEY {
                bail!(
                    "{} holds no admin key of at least {MIN_ADMIN_KEY} characters; delete it \
                     and start again to have a new one made",
                    path.display()
                );
            }
            tighten(&path)?;
            store.set_meta(ADMIN_KEY_HASH, &key_hash(key))?;
            Ok(false)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = random_hex(32);
            write_private(&path, &format!("{key}\n"), true)?;
            store.set_meta(ADMIN_KEY_HASH, &key_hash(&key))?;
            Ok(true)
        }
        Err(e) => Err(e).with_context(|| format!("reading the admin key {}", path.display())),
    }
}

/// Writes a file only its owner may read (mode 0600 from its creation on). With `new`, refuses
/// to replace an existing file.
pub(crate) fn write_private(path: &FsPath, contents: &str, new: bool) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if new {
        options.create_new(true);
    } else {
        options.create(true).truncate(true);
    }
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    if !new && path.exists() {
        // An existing file keeps its mode when opened: make it private before writing to it.
        tighten(path)?;
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(contents.as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Sets a secret file's mode to 0600 when others may read it (and says so).
fn tighten(path: &FsPath) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)?.permissions().mode();
        if mode & 0o077 != 0 {
            tracing::warn!(
                "{} was readable by others (mode {:o}): set to 0600",
                path.display(),
                mode & 0o777
            );
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                .with_context(|| format!("setting the mode of {}", path.display()))?;
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// `POST /v1/admin/apps` body (optional: an empty body makes an app with a random id).
#[derive(Debug, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApp {
    /// The new app's id: 1–64 characters `A–Z a–z 0–9 _ . -`, starting with a letter or digit.
    #[serde(default)]
    pub app_id: Option<String>,
}

/// An app's credentials: the answer of create and rotate-key, the only time a key is shown.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AppCredentials {
    /// 0.
    pub result: i32,
    /// The app id (HTTP Basic user of the REST API).
    pub app_id: String,
    /// The app key (HTTP Basic password). Only its hash is stored.
    pub app_key: String,
}

/// `GET /v1/admin/apps` answer.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AppList {
    /// 0.
    pub result: i32,
    /// Every app, oldest first (never a key).
    pub apps: Vec<AppInfo>,
}

/// Checks an app id: 1–64 characters of `A–Z a–z 0–9 _ . -`, the first a letter or digit (an
/// id is the user half of HTTP Basic credentials, so never a `:`).
pub fn check_app_id(id: &str) -> Result<(), ApiError> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
    let first_ok = id.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
    if !first_ok || id.len() > 64 || !id.chars().all(ok_char) {
        return Err(ApiError::bad_request(
            "`app_id` must be 1–64 characters of A–Z a–z 0–9 _ . -, starting with a letter or digit",
        ));
    }
    Ok(())
}

/// `GET /v1/admin/apps`.
#[utoipa::path(get, path = "/v1/admin/apps", tag = "admin",
    responses(
        (status = 200, description = "Every app", body = AppList),
        (status = 401, description = "Bad or missing admin key", body = ErrorResponse)),
    security(("admin" = [])))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    _: AdminAuth,
) -> Result<Json<AppList>, ApiError> {
    Ok(Json(AppList {
        result: 0,
        apps: state.store.apps()?,
    }))
}

/// `POST /v1/admin/apps` → 201 with the new app's key.
#[utoipa::path(post, path = "/v1/admin/apps", tag = "admin", request_body(content = Option<CreateApp>, description = "Optional: an empty body makes a random id"),
    responses(
        (status = 201, description = "Created; the key is shown this once", body = AppCredentials),
        (status = 400, description = "Bad id, or the app exists", body = ErrorResponse),
        (status = 401, description = "Bad or missing admin key", body = ErrorResponse)),
    security(("admin" = [])))]
pub async fn create(
    State(state): State<Arc<AppState>>,
    _: AdminAuth,
    body: Bytes,
) -> Result<(StatusCode, Json<AppCredentials>), ApiError> {
    let req: CreateApp = if body.iter().all(u8::is_ascii_whitespace) {
        CreateApp::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(format!("invalid body: {e}")))?
    };
    let app_id = match req.app_id {
        Some(id) => {
            check_app_id(&id)?;
            id
        }
        None => format!("app-{}", random_hex(6)),
    };
    if state.store.app_exists(&app_id)? {
        return Err(ApiError::bad_request(format!(
            "app `{app_id}` exists already"
        )));
    }
    let creds = state.store.create_app(&app_id).map_err(|e| {
        // Two creates of one id at once: the loser hits the primary key.
        if state.store.app_exists(&app_id).unwrap_or(false) {
            ApiError::bad_request(format!("app `{app_id}` exists already"))
        } else {
            e.into()
        }
    })?;
    tracing::info!(app = %creds.app_id, "admin: app created");
    Ok((
        StatusCode::CREATED,
        Json(AppCredentials {
            result: 0,
            app_id: creds.app_id,
            app_key: creds.app_key,
        }),
    ))
}

fn no_such_app(id: &str) -> ApiError {
    let shown: String = id.chars().take(64).collect();
    ApiError::not_found(format!("app `{shown}` not found"))
}

/// `POST /v1/admin/apps/{app_id}/rotate-key`: a new key; the old one is refused from now on.
/// Tokens already minted and clients already connected are not affected. For the development
/// app, `dev-credentials.json` is rewritten so that the CLI helpers keep working.
#[utoipa::path(post, path = "/v1/admin/apps/{app_id}/rotate-key", tag = "admin", params(("app_id" = String, Path, description = "The app")),
    responses(
        (status = 200, description = "The new credentials", body = AppCredentials),
        (status = 401, description = "Bad or missing admin key", body = ErrorResponse),
        (status = 404, description = "No such app", body = ErrorResponse)),
    security(("admin" = [])))]
pub async fn rotate_key(
    State(state): State<Arc<AppState>>,
    _: AdminAuth,
    Path(app_id): Path<String>,
) -> Result<Json<AppCredentials>, ApiError> {
    let creds = state
        .store
        .rotate_key(&app_id)?
        .ok_or_else(|| no_such_app(&app_id))?;
    if creds.app_id == DEV_APP_ID {
        let path = state.config.data_dir.join(DEV_CREDENTIALS_FILE);
        let json = serde_json::to_string_pretty(&creds).map_err(ApiError::internal)?;
        write_private(&path, &json, false).map_err(ApiError::internal)?;
    }
    tracing::info!(app = %creds.app_id, "admin: app key rotated");
    Ok(Json(AppCredentials {
        result: 0,
        app_id: creds.app_id,
        app_key: creds.app_key,
    }))
}

/// `DELETE /v1/admin/apps/{app_id}`: deletes the app and its rooms, and ends their live
/// sessions (clients get `roomDisconnected`); its tokens and resume credentials no longer
/// connect (their room is gone).
#[utoipa::path(delete, path = "/v1/admin/apps/{app_id}", tag = "admin", params(("app_id" = String, Path, description = "The app")),
    responses(
        (status = 200, description = "Deleted with its rooms", body = ErrorResponse),
        (status = 401, description = "Bad or missing admin key", body = ErrorResponse),
        (status = 404, description = "No such app", body = ErrorResponse)),
    security(("admin" = [])))]
pub async fn delete(
    State(state): State<Arc<AppState>>,
    _: AdminAuth,
    Path(app_id): Path<String>,
) -> Result<Json<ErrorResponse>, ApiError> {
    let rooms = state
        .store
        .delete_app(&app_id)?
        .ok_or_else(|| no_such_app(&app_id))?;
    let live = rooms
        .iter()
        .filter(|room| state.families.send(room, FamilyMsg::End))
        .count();
    if app_id == DEV_APP_ID {
        let _ = std::fs::remove_file(state.config.data_dir.join(DEV_CREDENTIALS_FILE));
    }
    // Its webhook row went with it (`Store::delete_app`): no more events.
    state.families.webhooks.changed(&app_id, None);
    tracing::info!(app = %app_id, rooms = rooms.len(), live, "admin: app deleted");
    Ok(Json(ErrorResponse {
        result: 0,
        msg: format!(
            "App deleted with its {} room(s); {live} live session(s) ended",
            rooms.len()
        ),
    }))
}
