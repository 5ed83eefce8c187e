//! TURN credentials Alcove mints for its clients: the REST / shared-secret scheme coturn
//! implements with `use-auth-secret` (draft-uberti-behave-turn-rest): the username is
//! `EXPIRY:CLIENTREF` (expiry in Unix seconds), the password base64(HMAC-SHA1(secret,
//! username)). coturn recomputes the password from the same secret and refuses (401) a
//! username whose expiry has passed or a password not made with the secret.
//!
//! Every `roomConnected` (the resumed ones too) carries fresh credentials in `ice_servers`
//! (docs/protocol.md, "TURN servers"; docs/deploy.md, "TURN (coturn)").

use alcove_proto::signal::IceServer;
use alcove_proto::ClientId;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Digest;
use std::time::Duration;

/// Default lifetime of a minted credential (`--turn-ttl`): 6 hours.
pub const DEFAULT_TURN_TTL_SECS: u64 = 6 * 3600;

/// Where clients relay through and how their credentials are made.
#[derive(Clone)]
pub struct TurnConfig {
    /// `turn:` / `turns:` URLs handed to clients as they are.
    pub urls: Vec<String>,
    /// The secret shared with the TURN server (`static-auth-secret`); never logged.
    pub secret: Vec<u8>,
    /// How long a minted credential is valid.
    pub ttl: Duration,
}

impl std::fmt::Debug for TurnConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TurnConfig")
            .field("urls", &self.urls)
            .field("secret", &"…")
            .field("ttl", &self.ttl)
            .finish()
    }
}

impl TurnConfig {
    /// The `ice_servers` for `client` at `now_unix` (seconds): one entry with every URL.
    pub fn mint(&self, client: &ClientId, now_unix: u64) -> Vec<IceServer> {
        let expiry = now_unix + self.ttl.as_secs();
        // An opaque reference (not the client id): coturn logs usernames.
        let digest = sha2::Sha256::digest(client.as_str().as_bytes());
        let reference: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        let username = format!("{expiry}:{reference}");
        vec![IceServer {
            urls: self.urls.clone(),
            credential: credential(&self.secret, &username),
            username,
        }]
    }
}

/// base64(HMAC-SHA1(secret, username)): the password coturn expects for `username`.
pub fn credential(secret: &[u8], username: &str) -> String {
    // HMAC takes a key of any length.
    let mut mac = <Hmac<sha1::Sha1> as Mac>::new_from_slice(secret).expect("any key length");
    mac.update(username.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The TURN flags of `alcove serve` (flattened into its arguments).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TurnArgs {
    /// A TURN server clients may relay media through, e.g.
    /// `turn:turn.example.com:443?transport=tcp` or `turns:…` (repeatable; needs
    /// --turn-secret).
    #[arg(long = "turn-url", env = "ALCOVE_TURN_URL", value_delimiter = ',')]
    pub turn_urls: Vec<String>,
    /// The secret shared with the TURN server (coturn's `static-auth-secret`): Alcove mints
    /// time-limited credentials with it.
    #[arg(long, env = "ALCOVE_TURN_SECRET", hide_env_values = true)]
    pub turn_secret: Option<String>,
    /// Seconds a minted TURN credential stays valid.
    #[arg(long, env = "ALCOVE_TURN_TTL", default_value_t = DEFAULT_TURN_TTL_SECS, value_parser = clap::value_parser!(u64).range(60..))]
    pub turn_ttl: u64,
}

impl TurnArgs {
    /// The TURN configuration these flags describe: `None` without `--turn-url`; an error for
    /// a URL that is not `turn:` / `turns:`, or URLs without a secret (or the reverse).
    pub fn config(&self) -> anyhow::Result<Option<TurnConfig>> {
        for u in &self.turn_urls {
            if !(u.starts_with("turn:") || u.starts_with("turns:")) {
                anyhow::bail!("--turn-url {u}: must start with turn: or turns:");
            }
        }
        match (&self.turn_secret, self.turn_urls.is_empty()) {
            (None, true) => Ok(None),
            (Some(s), false) if !s.is_empty() => Ok(Some(TurnConfig {
                urls: self.turn_urls.clone(),
                secret: s.as_bytes().to_vec(),
                ttl: Duration::from_secs(self.turn_ttl),
            })),
            (_, false) => {
                anyhow::bail!("--turn-url needs --turn-secret (coturn's static-auth-secret)")
            }
            (Some(_), true) => anyhow::bail!("--turn-secret needs at least one --turn-url"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_credential_is_coturns_rest_password() {
        // Computed with: printf %s '1700000000:alice' | openssl dgst -sha1 -hmac north -binary | base64
        assert_eq!(
            credential(b"north", "1700000000:alice"),
            "Cd/49soE35ICqcJF/bCTn8Z4OyE="
        );
    }

    #[test]
    fn minted_usernames_expire_after_the_ttl_and_hide_the_client_id() {
        let t = TurnConfig {
            urls: vec!["turn:127.0.0.1:3478?transport=tcp".into()],
            secret: b"s3cret".to_vec(),
            ttl: Duration::from_secs(600),
        };
        let s = t.mint(&ClientId::from("c-0123456789ab"), 1_000_000);
        assert_eq!(s.len(), 1);
        let (expiry, reference) = s[0].username.split_once(':').expect("expiry:ref");
        assert_eq!(expiry, "1000600");
        assert!(!reference.contains("c-0123"));
        assert_eq!(s[0].credential, credential(b"s3cret", &s[0].username));
        assert_eq!(s[0].urls, t.urls);
    }

    #[test]
    fn flags_need_each_other_and_turn_schemes() {
        let mut a = TurnArgs {
            turn_ttl: DEFAULT_TURN_TTL_SECS,
            ..TurnArgs::default()
        };
        assert!(a.config().expect("no TURN").is_none());
        a.turn_urls = vec!["turn:h:3478".into()];
        assert!(a.config().is_err(), "a URL without a secret");
        a.turn_secret = Some("x".into());
        assert!(a.config().expect("valid").is_some());
        a.turn_urls = vec!["stun:h:3478".into()];
        assert!(a.config().is_err(), "not a TURN URL");
    }
}
