//! Signed room tokens: `v1.<base64url(JSON claims)>.<base64url(HMAC-SHA256(secret, "v1." + claims))>`.
//!
//! A token is bound to one room, carries the role, name, user_ref and app data, expires
//! (15 minutes by default) and is single use: its `jti` is recorded in the store at connect.
//! Tokens and the secret are never logged.

use alcove_proto::signal::Role;
use alcove_proto::{ErrorCode, RoomId};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// What a token says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    /// Unique token id (single use).
    pub jti: String,
    /// The app that minted it.
    pub app_id: String,
    /// The room it opens.
    pub room_id: RoomId,
    /// Role in the room.
    pub role: Role,
    /// Display name.
    pub name: String,
    /// App's user reference.
    pub user_ref: String,
    /// App data.
    #[serde(default)]
    pub data: serde_json::Value,
    /// Unix seconds after which it no longer connects.
    pub exp: u64,
}

fn mac(secret: &[u8], body: &str) -> HmacSha256 {
    // HMAC accepts keys of any length.
    let mut m = HmacSha256::new_from_slice(secret).expect("HMAC takes any key length");
    m.update(b"v1.");
    m.update(body.as_bytes());
    m
}

/// Signs `claims`.
pub fn sign(secret: &[u8], claims: &Claims) -> String {
    let body = B64.encode(serde_json::to_vec(claims).unwrap_or_default());
    let sig = B64.encode(mac(secret, &body).finalize().into_bytes());
    format!("v1.{body}.{sig}")
}

/// Checks the signature and expiry (not single use: that needs the store).
pub fn verify(secret: &[u8], token: &str, now: u64) -> Result<Claims, ErrorCode> {
    let mut parts = token.split('.');
    let (Some("v1"), Some(body), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ErrorCode::TokenInvalid);
    };
    let sig = B64.decode(sig).map_err(|_| ErrorCode::TokenInvalid)?;
    mac(secret, body)
        .verify_slice(&sig)
        .map_err(|_| ErrorCode::TokenInvalid)?;
    let raw = B64.decode(body).map_err(|_| ErrorCode::TokenInvalid)?;
    let claims: Claims = serde_json::from_slice(&raw).map_err(|_| ErrorCode::TokenInvalid)?;
    if now >= claims.exp {
        return Err(ErrorCode::TokenExpired);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: u64) -> Claims {
        Claims {
            jti: "j1".into(),
            app_id: "dev".into(),
            room_id: RoomId::from("r1"),
            role: Role::Participant,
            name: "Ada".into(),
            user_ref: "u1".into(),
            data: serde_json::Value::Null,
            exp,
        }
    }

    #[test]
    fn signed_token_verifies() {
        let t = sign(b"secret", &claims(100));
        assert_eq!(verify(b"secret", &t, 99), Ok(claims(100)));
    }

    #[test]
    fn expired_token_is_refused() {
        let t = sign(b"secret", &claims(100));
        assert_eq!(verify(b"secret", &t, 100), Err(ErrorCode::TokenExpired));
    }

    #[test]
    fn forged_tokens_are_refused() {
        let t = sign(b"secret", &claims(100));
        assert_eq!(verify(b"other", &t, 1), Err(ErrorCode::TokenInvalid));
        // Same signature, claims changed to moderator.
        let mut forged = claims(100);
        forged.role = Role::Moderator;
        let body = B64.encode(serde_json::to_vec(&forged).unwrap());
        let sig = t.rsplit('.').next().unwrap();
        assert_eq!(
            verify(b"secret", &format!("v1.{body}.{sig}"), 1),
            Err(ErrorCode::TokenInvalid)
        );
        for junk in ["", "v1", "v1..", "v2.a.b", "v1.a.b.c", "v1.!!.??"] {
            assert_eq!(
                verify(b"secret", junk, 1),
                Err(ErrorCode::TokenInvalid),
                "{junk}"
            );
        }
    }
}

/// What a resume credential says: which client's place it takes back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResumeClaims {
    /// The client.
    pub client_id: alcove_proto::ClientId,
    /// Its parent room.
    pub room_id: RoomId,
    /// The app owning the room.
    pub app_id: String,
}

fn resume_mac(secret: &[u8], body: &str) -> HmacSha256 {
    // HMAC accepts keys of any length.
    let mut m = HmacSha256::new_from_slice(secret).expect("HMAC takes any key length");
    m.update(b"resume.");
    m.update(body.as_bytes());
    m
}

/// Signs a resume credential (`r1.<claims>.<mac>`); it stays valid as long as the family keeps
/// the client's place, across restarts (the secret is in the database).
pub fn sign_resume(secret: &[u8], claims: &ResumeClaims) -> String {
    let body = B64.encode(serde_json::to_vec(claims).unwrap_or_default());
    let sig = B64.encode(resume_mac(secret, &body).finalize().into_bytes());
    format!("r1.{body}.{sig}")
}

/// Checks a resume credential's signature.
pub fn verify_resume(secret: &[u8], token: &str) -> Result<ResumeClaims, ErrorCode> {
    let mut parts = token.split('.');
    let (Some("r1"), Some(body), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ErrorCode::ResumeFailed);
    };
    let sig = B64.decode(sig).map_err(|_| ErrorCode::ResumeFailed)?;
    resume_mac(secret, body)
        .verify_slice(&sig)
        .map_err(|_| ErrorCode::ResumeFailed)?;
    let raw = B64.decode(body).map_err(|_| ErrorCode::ResumeFailed)?;
    serde_json::from_slice(&raw).map_err(|_| ErrorCode::ResumeFailed)
}

#[cfg(test)]
mod resume_tests {
    use super::*;

    #[test]
    fn resume_credentials_verify_and_resist_forgery() {
        let c = ResumeClaims {
            client_id: "c-1".into(),
            room_id: RoomId::from("r1"),
            app_id: "dev".into(),
        };
        let t = sign_resume(b"s", &c);
        assert_eq!(verify_resume(b"s", &t), Ok(c));
        assert_eq!(verify_resume(b"other", &t), Err(ErrorCode::ResumeFailed));
        // A room token is not a resume credential, and vice versa.
        assert_eq!(
            verify_resume(b"s", &t.replacen("r1.", "v1.", 1)),
            Err(ErrorCode::ResumeFailed)
        );
        assert!(verify(b"s", &t.replacen("r1.", "v1.", 1), 0).is_err());
    }
}
