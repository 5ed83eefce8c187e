//! Signed room tokens: `v1.<base64url(JSON claims)>.<base64url(HMAC-SHA256(secret, "v1." + claims))>`.
//!
//! A token is bound to one room, carries the role, name, user_ref and app data, expires
//! (15 minutes by default, to the millisecond) and is single use: its `jti` is recorded in the
//! store at connect. Tokens and the secret are never logged.
//!
//! This module checks what the token itself says ([`verify_signature`], [`Claims::expired`]);
//! the order of all connect checks, replay before expiry, is `AppState::admit`'s
//! (docs/errors.md, "Connect (token) errors").

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
    /// Unix seconds from which it no longer connects: [`Claims::exp_ms`] rounded up (what
    /// `POST …/tokens` reports as `expires_at`). Tokens minted before `exp_ms` existed carry
    /// only this.
    pub exp: u64,
    /// Unix milliseconds from which it no longer connects: the exact expiry. Absent in tokens
    /// minted before it existed (then `exp` × 1000 counts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp_ms: Option<u64>,
}

impl Claims {
    /// Unix milliseconds from which the token no longer connects.
    pub fn expires_at_ms(&self) -> u64 {
        self.exp_ms.unwrap_or(self.exp.saturating_mul(1000))
    }

    /// Whether the token has expired at `now_ms` (Unix milliseconds): at or after its expiry.
    pub fn expired(&self, now_ms: u64) -> bool {
        now_ms >= self.expires_at_ms()
    }
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

/// Checks the format and the signature and returns the claims. Expiry ([`Claims::expired`])
/// and single use (the store) are checked by the caller, in the documented order.
pub fn verify_signature(secret: &[u8], token: &str) -> Result<Claims, ErrorCode> {
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
    serde_json::from_slice(&raw).map_err(|_| ErrorCode::TokenInvalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: u64) -> Claims {
        Claims {
            exp_ms: None,
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
        assert_eq!(verify_signature(b"secret", &t), Ok(claims(100)));
    }

    #[test]
    fn expiry_counts_milliseconds() {
        let c = Claims {
            exp_ms: Some(100_250),
            ..claims(101)
        };
        let t = sign(b"secret", &c);
        let c = verify_signature(b"secret", &t).unwrap();
        assert_eq!(c.exp_ms, Some(100_250), "exp_ms survives signing");
        assert!(!c.expired(100_249));
        assert!(
            c.expired(100_250),
            "expired at exp_ms, not at the next second"
        );
        assert!(c.expired(100_999));
    }

    #[test]
    fn tokens_without_exp_ms_expire_at_exp_seconds() {
        let raw = r#"{"jti":"j","app_id":"dev","room_id":"r1","role":"participant","name":"A","user_ref":"","exp":100}"#;
        let c: Claims = serde_json::from_str(raw).unwrap();
        assert_eq!(c.exp_ms, None);
        assert!(!c.expired(99_999));
        assert!(c.expired(100_000));
        assert!(
            !serde_json::to_string(&c).unwrap().contains("exp_ms"),
            "an absent exp_ms stays absent"
        );
    }

    #[test]
    fn forged_tokens_are_refused() {
        let t = sign(b"secret", &claims(100));
        assert_eq!(verify_signature(b"other", &t), Err(ErrorCode::TokenInvalid));
        // Same signature, claims changed to moderator.
        let mut forged = claims(100);
        forged.role = Role::Moderator;
        let body = B64.encode(serde_json::to_vec(&forged).unwrap());
        let sig = t.rsplit('.').next().unwrap();
        assert_eq!(
            verify_signature(b"secret", &format!("v1.{body}.{sig}")),
            Err(ErrorCode::TokenInvalid)
        );
        for junk in ["", "v1", "v1..", "v2.a.b", "v1.a.b.c", "v1.!!.??"] {
            assert_eq!(
                verify_signature(b"secret", junk),
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
    /// Unique id of this credential: it resumes once ([`ResumeBook`]). Credentials minted
    /// before single use existed have none; their signature stands in for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
}

/// How long the store remembers a spent resume credential (a replay after a restart is
/// refused while it does). In the running family, [`ResumeBook`] refuses it for as long as
/// the client lives.
pub const RESUME_REPLAY_MEMORY_SECS: u64 = 7 * 24 * 3600;

/// A family's resume credentials: each client holds exactly one usable credential, the one in
/// its latest `roomConnected`. Using it (a successful resume) spends it, and the resumed
/// `roomConnected` carries the next one (docs/security.md, "Resume credentials").
///
/// Spent credentials are also recorded in the store (`used_tokens`), so that a restart does
/// not make an old credential usable again.
pub struct ResumeBook {
    secret: Vec<u8>,
    room_id: RoomId,
    app_id: String,
    /// The credential id each client may resume with now.
    current: std::collections::HashMap<alcove_proto::ClientId, String>,
}

impl ResumeBook {
    /// An empty book for one family.
    pub fn new(secret: Vec<u8>, room_id: RoomId, app_id: String) -> ResumeBook {
        ResumeBook {
            secret,
            room_id,
            app_id,
            current: Default::default(),
        }
    }

    /// The parent room of the family.
    pub fn room_id(&self) -> &RoomId {
        &self.room_id
    }

    /// A new credential for `client`; the previous one stops working.
    pub fn mint(&mut self, client: &alcove_proto::ClientId) -> String {
        let jti = format!("r-{}", crate::util::random_hex(16));
        let claims = ResumeClaims {
            client_id: client.clone(),
            room_id: self.room_id.clone(),
            app_id: self.app_id.clone(),
            jti: Some(jti.clone()),
        };
        self.current.insert(client.clone(), jti);
        sign_resume(&self.secret, &claims)
    }

    /// Spends the credential `jti` of `client` (the caller has checked that the client is not
    /// attached). 4108 when it is not the client's current one or was spent before.
    pub fn spend(
        &mut self,
        client: &alcove_proto::ClientId,
        jti: &str,
        store: &crate::store::Store,
    ) -> Result<(), ErrorCode> {
        if self.current.get(client).is_some_and(|c| c != jti) {
            return Err(ErrorCode::ResumeFailed);
        }
        let exp = crate::util::unix_now_ms() / 1000 + RESUME_REPLAY_MEMORY_SECS;
        match store.use_token(jti, exp) {
            Ok(true) => {
                self.current.remove(client);
                Ok(())
            }
            Ok(false) => Err(ErrorCode::ResumeFailed),
            Err(e) => {
                tracing::error!("store: {e}");
                Err(ErrorCode::Internal)
            }
        }
    }

    /// Keeps only the clients for which `alive` is true (the others left the family).
    pub fn retain(&mut self, mut alive: impl FnMut(&alcove_proto::ClientId) -> bool) {
        self.current.retain(|c, _| alive(c));
    }

    /// Clients with a credential on record.
    pub fn len(&self) -> usize {
        self.current.len()
    }

    /// Whether no client has a credential on record.
    pub fn is_empty(&self) -> bool {
        self.current.is_empty()
    }
}

/// The id under which a resume credential is spent: its `jti`, or for a credential minted
/// before `jti` existed, its signature.
pub fn resume_jti(claims: &ResumeClaims, token: &str) -> String {
    match &claims.jti {
        Some(j) => j.clone(),
        None => format!("r-sig-{}", token.rsplit('.').next().unwrap_or("")),
    }
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
            jti: Some("r-1".into()),
        };
        let t = sign_resume(b"s", &c);
        assert_eq!(verify_resume(b"s", &t), Ok(c));
        assert_eq!(verify_resume(b"other", &t), Err(ErrorCode::ResumeFailed));
        // A room token is not a resume credential, and vice versa.
        assert_eq!(
            verify_resume(b"s", &t.replacen("r1.", "v1.", 1)),
            Err(ErrorCode::ResumeFailed)
        );
        assert!(verify_signature(b"s", &t.replacen("r1.", "v1.", 1)).is_err());
    }
}

#[cfg(test)]
mod book_tests {
    use super::*;
    use alcove_proto::ClientId;

    fn jti_of(secret: &[u8], credential: &str) -> String {
        let claims = verify_resume(secret, credential).unwrap();
        resume_jti(&claims, credential)
    }

    #[test]
    fn a_credential_resumes_once_only_the_newest_counts_and_a_restart_keeps_it_spent() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(dir.path()).unwrap();
        let s = b"secret".to_vec();
        let ada = ClientId::from("c-ada");
        let mut book = ResumeBook::new(s.clone(), RoomId::from("r1"), "dev".into());
        let first = jti_of(&s, &book.mint(&ada));
        let second = jti_of(&s, &book.mint(&ada));
        assert_ne!(first, second);
        assert_eq!(
            book.spend(&ada, &first, &store),
            Err(ErrorCode::ResumeFailed),
            "an older credential is refused once a newer one was given out"
        );
        assert_eq!(book.spend(&ada, &second, &store), Ok(()));
        assert_eq!(
            book.spend(&ada, &second, &store),
            Err(ErrorCode::ResumeFailed),
            "single use"
        );
        let third = jti_of(&s, &book.mint(&ada));

        // After a restart the family's book is empty; the store still knows what was spent.
        let mut restarted = ResumeBook::new(s.clone(), RoomId::from("r1"), "dev".into());
        assert_eq!(
            restarted.spend(&ada, &second, &store),
            Err(ErrorCode::ResumeFailed)
        );
        assert_eq!(restarted.spend(&ada, &third, &store), Ok(()));
        restarted.retain(|_| false);
        assert!(restarted.is_empty());
    }

    #[test]
    fn a_credential_without_jti_is_spent_by_its_signature() {
        let c = ResumeClaims {
            client_id: "c-1".into(),
            room_id: RoomId::from("r1"),
            app_id: "dev".into(),
            jti: None,
        };
        let t = sign_resume(b"s", &c);
        let parsed = verify_resume(b"s", &t).unwrap();
        assert_eq!(parsed.jti, None);
        assert!(resume_jti(&parsed, &t).starts_with("r-sig-"));
    }
}
