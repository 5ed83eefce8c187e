//! The direct send path of audio slots: a forwarded Opus packet is written, sealed and handed
//! to the host here, without passing through the receiver's str0m send stream.
//!
//! Going through str0m costs a receiver a queue write, a pacer pass, a full `poll_output`
//! (every stream's timeout) and only then the seal: about 30 k instructions per forwarded
//! packet, where the seal itself is 5 % of that (crates/load/RESULTS.md). For an audio slot
//! nothing of that machinery is needed: the slot's sequence numbers and media time are
//! Alcove's own ([`super::rewrite::Rewrite`]), audio is not NACKed, and the congestion
//! controller reads receiver reports, not transport feedback. So once a session's DTLS
//! handshake has produced its SRTP keys, its audio slots build the RTP header themselves
//! (the slot's SSRC and payload type, the negotiated `ssrc-audio-level` and `mid` extensions),
//! seal it with AES-GCM (RFC 7714) and emit the datagram on the session's selected path.
//!
//! The keys: str0m does the DTLS handshake and keeps its SRTP contexts private, but it takes
//! its DTLS implementation from a [`CryptoProvider`]. [`provider`] is str0m's own provider
//! with a DTLS layer that passes everything through and remembers the keying material the
//! handshake exports (RFC 5764 §4.2) in a [`KeySlot`] the session holds. Nothing else of the
//! handshake changes.
//!
//! What falls back to str0m's path: a session whose SRTP profile is not AEAD-AES-GCM (128 or
//! 256), a session before its keys and path are known, every video stream (those need NACK,
//! RTX and keyframe machinery). str0m still sends the RTCP of the slot streams (its sender
//! reports then count no packets); receiver reports and everything else it receives are
//! processed as before.

use std::cell::RefCell;
use std::sync::{Arc, OnceLock};
use std::time::Instant;
use str0m::crypto::dtls::{
    DtlsCert, DtlsImplError, DtlsInstance, DtlsOutput, DtlsProvider, DtlsVersion, ProtocolVersion,
    SrtpProfile,
};
use str0m::crypto::{AeadAes128GcmCipher, AeadAes256GcmCipher, CryptoError, CryptoProvider};

/// What a session's DTLS handshake exported: the keying material, its SRTP profile, and
/// whether this side was the DTLS client (which half of the material is ours to write with).
#[derive(Clone)]
pub(super) struct Exported {
    material: Vec<u8>,
    profile: SrtpProfile,
    active: bool,
}

impl std::fmt::Debug for Exported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key material.
        f.debug_struct("Exported")
            .field("profile", &self.profile)
            .field("active", &self.active)
            .finish()
    }
}

/// Where one session's DTLS layer puts the keys when its handshake completes.
pub(super) type KeySlot = Arc<OnceLock<Exported>>;

thread_local! {
    /// The key slot of the DTLS layer created last on this thread: `Rtc::build` creates it
    /// synchronously, and the shard takes it right after (see [`take_key_slot`]).
    static LAST_SLOT: RefCell<Option<KeySlot>> = const { RefCell::new(None) };
}

/// The key slot of the session built last on this thread (by `Rtc::build` with [`provider`]).
pub(super) fn take_key_slot() -> Option<KeySlot> {
    LAST_SLOT.with(|s| s.borrow_mut().take())
}

/// str0m's crypto provider, with a DTLS layer that remembers the exported SRTP keys.
pub(super) fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    static KEEPING: OnceLock<KeepingDtls> = OnceLock::new();
    Arc::clone(PROVIDER.get_or_init(|| {
        let mut p = str0m::crypto::from_feature_flags();
        let inner = p.dtls_provider;
        p.dtls_provider = KEEPING.get_or_init(|| KeepingDtls { inner });
        Arc::new(p)
    }))
}

/// A DTLS provider that wraps every instance of another one in [`KeepingInstance`].
#[derive(Debug)]
struct KeepingDtls {
    inner: &'static dyn DtlsProvider,
}

impl DtlsProvider for KeepingDtls {
    fn generate_certificate(&self) -> Option<DtlsCert> {
        self.inner.generate_certificate()
    }

    fn new_dtls(
        &self,
        cert: &DtlsCert,
        now: Instant,
        dtls_version: DtlsVersion,
        mtu: Option<usize>,
    ) -> Result<Box<dyn DtlsInstance>, CryptoError> {
        let inner = self.inner.new_dtls(cert, now, dtls_version, mtu)?;
        let slot: KeySlot = Arc::new(OnceLock::new());
        LAST_SLOT.with(|s| *s.borrow_mut() = Some(Arc::clone(&slot)));
        Ok(Box::new(KeepingInstance { inner, slot }))
    }

    fn is_test(&self) -> bool {
        self.inner.is_test()
    }
}

/// One DTLS instance, passed through; the keying material it exports is kept in `slot`.
#[derive(Debug)]
struct KeepingInstance {
    inner: Box<dyn DtlsInstance>,
    slot: KeySlot,
}

impl DtlsInstance for KeepingInstance {
    fn set_active(&mut self, active: bool) {
        self.inner.set_active(active)
    }

    fn handle_packet(&mut self, packet: &[u8]) -> Result<(), DtlsImplError> {
        self.inner.handle_packet(packet)
    }

    fn poll_output<'a>(&mut self, buf: &'a mut [u8]) -> DtlsOutput<'a> {
        let active = self.inner.is_active();
        let out = self.inner.poll_output(buf);
        if let DtlsOutput::KeyingMaterial(material, profile) = &out {
            let _ = self.slot.set(Exported {
                material: material.to_vec(),
                profile: *profile,
                active,
            });
        }
        out
    }

    fn handle_timeout(&mut self, now: Instant) -> Result<(), DtlsImplError> {
        self.inner.handle_timeout(now)
    }

    fn send_application_data(&mut self, data: &[u8]) -> Result<usize, DtlsImplError> {
        self.inner.send_application_data(data)
    }

    fn is_active(&self) -> bool {
        self.inner.is_active()
    }

    fn protocol_version(&self) -> Option<ProtocolVersion> {
        self.inner.protocol_version()
    }

    fn is_closing(&self) -> bool {
        self.inner.is_closing()
    }

    fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }

    fn close(&mut self) -> Result<(), DtlsImplError> {
        self.inner.close()
    }
}

/// RFC 3711 §4.3.1 key derivation labels.
const LABEL_ENCRYPTION: u8 = 0x00;
const LABEL_SALT: u8 = 0x02;
/// AES-GCM salt (RFC 7714 §8.1) and tag lengths.
const SALT_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// An AES-GCM cipher of either key size.
enum Gcm {
    Aes128(Box<dyn AeadAes128GcmCipher>),
    Aes256(Box<dyn AeadAes256GcmCipher>),
}

/// The sending half of one session's SRTP (RFC 3711 with AEAD-AES-GCM, RFC 7714): RTP only;
/// str0m keeps sending the session's RTCP with its own context.
pub(super) struct SrtpTx {
    gcm: Gcm,
    salt: [u8; SALT_LEN],
}

impl std::fmt::Debug for SrtpTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SrtpTx")
    }
}

impl SrtpTx {
    /// The write context of an exported key, or `None` for a profile this path does not
    /// implement (AES-CM with HMAC-SHA1: str0m's path is used then).
    pub(super) fn new(exported: &Exported, crypto: &CryptoProvider) -> Option<SrtpTx> {
        let key_len = match exported.profile {
            SrtpProfile::AEAD_AES_128_GCM => 16,
            SrtpProfile::AEAD_AES_256_GCM => 32,
            _ => return None,
        };
        // RFC 5764 §4.2: client key | server key | client salt | server salt.
        let m = &exported.material;
        if m.len() != 2 * key_len + 2 * SALT_LEN {
            return None;
        }
        let (k, s) = if exported.active {
            (0, 2 * key_len)
        } else {
            (key_len, 2 * key_len + SALT_LEN)
        };
        let master_key = &m[k..k + key_len];
        let master_salt = &m[s..s + SALT_LEN];
        let srtp = crypto.srtp_provider;
        let prf = |label: u8, out: &mut [u8]| derive(master_key, master_salt, label, out, srtp);
        let mut salt = [0u8; SALT_LEN];
        prf(LABEL_SALT, &mut salt);
        let gcm = if key_len == 16 {
            let mut key = [0u8; 16];
            prf(LABEL_ENCRYPTION, &mut key);
            Gcm::Aes128(srtp.aead_aes_128_gcm().create_cipher(key, true))
        } else {
            let mut key = [0u8; 32];
            prf(LABEL_ENCRYPTION, &mut key);
            Gcm::Aes256(srtp.aead_aes_256_gcm().create_cipher(key, true))
        };
        Some(SrtpTx { gcm, salt })
    }

    /// Seals one RTP packet into a new datagram: `header` (authenticated), then `payload`
    /// (encrypted), then the tag. `index` is the packet's 48-bit SRTP index (rollover counter
    /// × 2^16 + sequence number). `None` if the header is short or the cipher fails.
    pub(super) fn seal(&mut self, header: &[u8], payload: &[u8], index: u64) -> Option<Vec<u8>> {
        let ssrc = header.get(8..12)?;
        // RFC 7714 §8.1: IV = (0x0000 ‖ SSRC ‖ ROC ‖ SEQ) XOR salt.
        let mut iv = [0u8; 12];
        iv[2..6].copy_from_slice(ssrc);
        iv[6..12].copy_from_slice(&(index & 0xFFFF_FFFF_FFFF).to_be_bytes()[2..]);
        for (b, s) in iv.iter_mut().zip(self.salt.iter()) {
            *b ^= s;
        }
        // One allocation: the header is copied in, the payload encrypted straight into place.
        let mut out = vec![0u8; header.len() + payload.len() + TAG_LEN];
        out[..header.len()].copy_from_slice(header);
        let sealed = &mut out[header.len()..];
        let r = match &mut self.gcm {
            Gcm::Aes128(c) => c.encrypt(&iv, header, payload, sealed),
            Gcm::Aes256(c) => c.encrypt(&iv, header, payload, sealed),
        };
        r.ok().map(|_| out)
    }
}

/// The AES-CM key derivation of RFC 3711 §4.3.1 (key derivation rate 0): `out` is the key
/// stream of AES in counter mode under the master key, from the block
/// `(salt ⊕ label·2^48) · 2^16`.
fn derive(
    master_key: &[u8],
    master_salt: &[u8],
    label: u8,
    out: &mut [u8],
    srtp: &dyn str0m::crypto::SrtpProvider,
) {
    // x = key_id XOR master_salt, with key_id = label ‖ index DIV kdr (48 zero bits); the salt
    // (112 bits for AES-CM, 96 for GCM, left-aligned) occupies the first 14 bytes of the block.
    let mut block = [0u8; 16];
    block[..master_salt.len()].copy_from_slice(master_salt);
    block[7] ^= label;
    let mut ks = [0u8; 32];
    for (i, chunk) in out.chunks_mut(16).enumerate() {
        block[14..16].copy_from_slice(&(i as u16).to_be_bytes());
        if master_key.len() == 32 {
            srtp.srtp_aes_256_ecb_round(master_key, &block, &mut ks);
        } else {
            srtp.srtp_aes_128_ecb_round(master_key, &block, &mut ks);
        }
        chunk.copy_from_slice(&ks[..chunk.len()]);
    }
}

/// One-byte-header RTP extensions (RFC 8285) an audio slot writes, by negotiated id.
#[derive(Debug, Clone, Default)]
pub(super) struct AudioExts {
    /// `ssrc-audio-level` (RFC 6464).
    pub(super) level: Option<u8>,
    /// `sdes:mid` (RFC 8843), with the slot's mid.
    pub(super) mid: Option<(u8, String)>,
}

/// The fields of one forwarded audio packet's RTP header.
pub(super) struct AudioHeader<'a> {
    pub(super) pt: u8,
    pub(super) marker: bool,
    pub(super) seq: u16,
    pub(super) time: u32,
    pub(super) ssrc: u32,
    /// RFC 6464 level, -127 (silence) … 0 dBov.
    pub(super) level: i8,
    pub(super) exts: &'a AudioExts,
}

/// Room for the longest header [`write_audio_header`] writes: 12 fixed bytes, the extension
/// block's 4, the level's 2, a mid of up to 16 bytes with its 1, padding.
pub(super) const MAX_HEADER: usize = 40;

/// Writes an audio packet's RTP header (with its extensions) into `buf`; returns its length.
pub(super) fn write_audio_header(h: &AudioHeader<'_>, buf: &mut [u8; MAX_HEADER]) -> usize {
    let has_ext = h.exts.level.is_some() || h.exts.mid.is_some();
    buf[0] = 0x80 | if has_ext { 0x10 } else { 0 };
    buf[1] = (h.pt & 0x7F) | if h.marker { 0x80 } else { 0 };
    buf[2..4].copy_from_slice(&h.seq.to_be_bytes());
    buf[4..8].copy_from_slice(&h.time.to_be_bytes());
    buf[8..12].copy_from_slice(&h.ssrc.to_be_bytes());
    if !has_ext {
        return 12;
    }
    buf[12..16].copy_from_slice(&[0xBE, 0xDE, 0, 0]);
    let mut n = 16;
    if let Some(id) = h.exts.level {
        let vad = if h.level > -127 { 0x80 } else { 0 };
        buf[n] = id << 4;
        buf[n + 1] = vad | (h.level.unsigned_abs() & 0x7F);
        n += 2;
    }
    if let Some((id, mid)) = &h.exts.mid {
        let bytes = mid.as_bytes();
        if (1..=16).contains(&bytes.len()) {
            buf[n] = (id << 4) | (bytes.len() as u8 - 1);
            buf[n + 1..n + 1 + bytes.len()].copy_from_slice(bytes);
            n += 1 + bytes.len();
        }
    }
    while !(n - 16).is_multiple_of(4) {
        buf[n] = 0;
        n += 1;
    }
    let words = ((n - 16) / 4) as u16;
    buf[14..16].copy_from_slice(&words.to_be_bytes());
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 3711 Appendix B.3: the AES-CM key derivation test vectors.
    #[test]
    fn key_derivation_matches_rfc_3711() {
        let master_key = hex("E1F97A0D3E018BE0D64FA32C06DE4139");
        let master_salt = hex("0EC675AD498AFEEBB6960B3AABE6");
        let srtp = str0m::crypto::from_feature_flags().srtp_provider;
        let mut key = [0u8; 16];
        derive(&master_key, &master_salt, 0, &mut key, srtp);
        assert_eq!(key.to_vec(), hex("C61E7A93744F39EE10734AFE3FF7A087"));
        let mut salt = [0u8; 14];
        derive(&master_key, &master_salt, 2, &mut salt, srtp);
        assert_eq!(salt.to_vec(), hex("30CBBC08863D8C85D49DB34A9AE1"));
        let mut auth = [0u8; 20];
        derive(&master_key, &master_salt, 1, &mut auth, srtp);
        assert_eq!(
            auth.to_vec(),
            hex("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4")
        );
    }

    #[test]
    fn header_carries_level_and_mid_padded_to_words() {
        let exts = AudioExts {
            level: Some(1),
            mid: Some((4, "3".to_owned())),
        };
        let h = AudioHeader {
            pt: 111,
            marker: true,
            seq: 0x1234,
            time: 0xAABBCCDD,
            ssrc: 0x01020304,
            level: -30,
            exts: &exts,
        };
        let mut p = [0u8; MAX_HEADER];
        let n = write_audio_header(&h, &mut p);
        assert_eq!(n, 20);
        assert_eq!(
            &p[..n],
            &[
                0x90,
                0x80 | 111,
                0x12,
                0x34,
                0xAA,
                0xBB,
                0xCC,
                0xDD,
                1,
                2,
                3,
                4,
                0xBE,
                0xDE,
                0,
                1,
                0x10,
                0x80 | 30,
                0x40,
                b'3'
            ]
        );
        let bare = AudioExts::default();
        let n = write_audio_header(
            &AudioHeader {
                exts: &bare,
                level: -127,
                ..h
            },
            &mut p,
        );
        assert_eq!((n, p[0]), (12, 0x80));
        // The longest: a 16-byte mid.
        let long = AudioExts {
            level: Some(14),
            mid: Some((13, "m".repeat(16))),
        };
        let n = write_audio_header(&AudioHeader { exts: &long, ..h }, &mut p);
        assert_eq!(n, 36);
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }
}
