//! Tokens: `POST /v1/rooms/{room_id}/tokens` mints a signed, single-use, room-bound token,
//! and the display-name policy every token's `name` passes ([`display_name`]).

use super::rooms::{body, owned_room};
use super::{ApiError, AppAuth};
use crate::token::{sign, Claims};
use crate::util::{random_hex, unix_now_ms};
use crate::AppState;
use alcove_proto::api::{CreateTokenRequest, ErrorResponse, TokenResponse};
use alcove_proto::RoomId;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::Value;
use std::sync::Arc;

/// `POST /v1/rooms/{room_id}/tokens`.
#[utoipa::path(post, path = "/v1/rooms/{room_id}/tokens", tag = "tokens", params(("room_id" = String, Path, description = "The room")),
    request_body = CreateTokenRequest,
    responses(
        (status = 201, description = "A single-use token and the signalling URL", body = TokenResponse),
        (status = 400, description = "Invalid body or name", body = ErrorResponse),
        (status = 401, description = "Bad or missing credentials", body = ErrorResponse),
        (status = 404, description = "No such room (of this app)", body = ErrorResponse)),
    security(("app" = [])))]
pub async fn create(
    State(state): State<Arc<AppState>>,
    AppAuth(app): AppAuth,
    Path(room_id): Path<String>,
    b: Result<Json<CreateTokenRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<TokenResponse>), ApiError> {
    let room_id = RoomId(room_id);
    let room = owned_room(&state, &app, &room_id)?;
    let mut req = body(b)?;
    req.name = display_name(&req.name)?;
    if req.user_ref.chars().count() > 200 {
        return Err(ApiError::bad_request(
            "`user_ref` must be at most 200 characters",
        ));
    }
    match &req.data {
        Value::Null => {}
        Value::Object(m) if m.len() <= 5 => {}
        _ => {
            return Err(ApiError::bad_request(
                "`data` must be an object with at most 5 keys",
            ))
        }
    }
    let (token, exp) = state.mint(&app, &room.room_id, req);
    Ok((
        StatusCode::CREATED,
        Json(TokenResponse {
            result: 0,
            token,
            expires_at: exp,
            signal_url: state.config.signal_url(),
        }),
    ))
}

/// Longest display name, in characters (Unicode scalar values) after normalisation.
pub const MAX_NAME_CHARS: usize = 100;
/// Most combining marks in a row a display name may hold (a base letter with a few accents
/// is common; hundreds stack into a tall smear over the names around it).
pub const MAX_COMBINING_RUN: usize = 4;

/// The display-name policy (docs/security.md, "Names"), applied when a token is minted (REST
/// and the demo): the name is put in Unicode NFC and trimmed of white space; it is refused
/// (400 / 4400, the text says why) when it is then empty, longer than [`MAX_NAME_CHARS`],
/// holds a control character (C0, DEL, C1, line or paragraph separator), a bidirectional
/// formatting character (embeddings, overrides, isolates, marks), more than
/// [`MAX_COMBINING_RUN`] combining marks in a row, or nothing visible (only zero-width and
/// other invisible characters). Returns the name to put in the token.
pub fn display_name(raw: &str) -> Result<String, ApiError> {
    use unicode_normalization::char::is_combining_mark;
    use unicode_normalization::UnicodeNormalization;
    let refuse = |why: String| Err(ApiError::bad_request(format!("`name` {why}")));
    let nfc: String = raw.nfc().collect();
    let name = nfc.trim();
    if name.is_empty() {
        return refuse("is empty".into());
    }
    let count = name.chars().count();
    if count > MAX_NAME_CHARS {
        return refuse(format!(
            "is {count} characters long; at most {MAX_NAME_CHARS}"
        ));
    }
    let mut run = 0;
    let mut visible = false;
    for c in name.chars() {
        if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') {
            return refuse(format!("holds a control character (U+{:04X})", c as u32));
        }
        if is_bidi_control(c) {
            return refuse(format!(
                "holds a bidirectional formatting character (U+{:04X})",
                c as u32
            ));
        }
        if is_combining_mark(c) {
            run += 1;
            if run > MAX_COMBINING_RUN {
                return refuse(format!(
                    "holds more than {MAX_COMBINING_RUN} combining marks in a row"
                ));
            }
            continue;
        }
        run = 0;
        if !c.is_whitespace() && !is_invisible(c) {
            visible = true;
        }
    }
    if !visible {
        return refuse(
            "has no visible character (only spaces, zero-width or combining characters)".into(),
        );
    }
    Ok(name.to_owned())
}

/// Bidirectional formatting characters: ALM, LRM, RLM, the embeddings and overrides
/// (LRE, RLE, PDF, LRO, RLO) and the isolates (LRI, RLI, FSI, PDI).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Characters that draw nothing: zero-width spaces and joiners, the word joiner and invisible
/// operators, the BOM, soft hyphen, combining grapheme joiner, Mongolian vowel separator,
/// Hangul fillers, Khmer inherent vowels, the blank Braille pattern, variation selectors and
/// tag characters. Allowed inside a name (a ZWJ in an emoji, a ZWNJ in Persian), but a name
/// needs at least one character that is not one of these.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200D}' | '\u{2060}'..='\u{2064}'
        | '\u{2800}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFA0}'
        | '\u{E0000}'..='\u{E007F}' | '\u{E0100}'..='\u{E01EF}')
}

impl AppState {
    /// Mints a token for `room_id` (also used by the demo page in development mode). Returns
    /// the token and its expiry in Unix seconds, rounded up (from then on it no longer
    /// connects; the exact expiry is the claim `exp_ms`).
    pub fn mint(&self, app: &str, room_id: &RoomId, req: CreateTokenRequest) -> (String, u64) {
        let ttl_ms = u64::try_from(self.config.token_ttl.as_millis()).unwrap_or(u64::MAX);
        let exp_ms = unix_now_ms().saturating_add(ttl_ms.max(1));
        let exp = exp_ms.div_ceil(1000);
        let claims = Claims {
            jti: random_hex(12),
            app_id: app.to_owned(),
            room_id: room_id.clone(),
            role: req.role,
            name: req.name,
            user_ref: req.user_ref,
            data: req.data,
            exp,
            exp_ms: Some(exp_ms),
        };
        (sign(&self.secret, &claims), exp)
    }
}
