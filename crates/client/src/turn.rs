//! A minimal TURN client over TCP (RFC 8656, formerly RFC 5766), enough to relay this SDK's
//! media through a TURN server such as coturn when the direct path is blocked: an Allocate
//! with long-term credentials (the 401 challenge, REALM and NONCE, MESSAGE-INTEGRITY),
//! CreatePermission for each peer, Send and Data indications for the datagrams, Refresh of
//! the allocation and the permissions before they expire, and a new NONCE on 438.
//!
//! The connection to the TURN server is TCP (`?transport=tcp`); the relayed address is UDP.
//! STUN messages are self-delimiting on a stream (their header holds their length); the
//! server's ChannelData messages (none are asked for here) are skipped.
//!
//! Credentials are typically the ones Alcove mints (`roomConnected.ice_servers`,
//! docs/protocol.md "TURN servers"): coturn refuses an expired or forged one with 401, which
//! [`TurnClient::allocate`] returns as [`TurnError::Refused`].

use hmac::{Hmac, Mac};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

const MAGIC: u32 = 0x2112_A442;
const ALLOCATE: u16 = 0x0003;
const REFRESH: u16 = 0x0004;
const CREATE_PERMISSION: u16 = 0x0008;
const SEND_INDICATION: u16 = 0x0016;
const DATA_INDICATION: u16 = 0x0017;
const CLASS_SUCCESS: u16 = 0x0100;
const CLASS_ERROR: u16 = 0x0110;

const ATTR_USERNAME: u16 = 0x0006;
const ATTR_MESSAGE_INTEGRITY: u16 = 0x0008;
const ATTR_ERROR_CODE: u16 = 0x0009;
const ATTR_LIFETIME: u16 = 0x000D;
const ATTR_XOR_PEER_ADDRESS: u16 = 0x0012;
const ATTR_DATA: u16 = 0x0013;
const ATTR_REALM: u16 = 0x0014;
const ATTR_NONCE: u16 = 0x0015;
const ATTR_XOR_RELAYED_ADDRESS: u16 = 0x0016;
const ATTR_REQUESTED_TRANSPORT: u16 = 0x0019;

/// Allocation lifetime asked for (the server may grant less).
const LIFETIME: Duration = Duration::from_secs(600);
/// Permissions last 300 s (RFC 8656 §9); they are renewed after this.
const PERMISSION_REFRESH: Duration = Duration::from_secs(240);
/// How long the Allocate may take, TCP connect included.
const ALLOCATE_TIMEOUT: Duration = Duration::from_secs(10);
/// Messages queued toward the TURN server; beyond it datagrams are dropped (like a full UDP
/// socket buffer), never waited for.
const SEND_QUEUE: usize = 1024;

/// Why TURN failed.
#[derive(Debug, thiserror::Error)]
pub enum TurnError {
    /// The TCP connection failed or closed.
    #[error("TURN transport: {0}")]
    Transport(String),
    /// The server refused the request: 401 for expired or forged credentials.
    #[error("TURN server refused: {code} {reason}")]
    Refused {
        /// STUN error code (401, 403, 437, 438, 486, …).
        code: u16,
        /// The server's reason phrase.
        reason: String,
    },
    /// The server's answer could not be understood, or did not come in time.
    #[error("TURN protocol: {0}")]
    Protocol(String),
}

/// Long-term credentials and what the server told us to use them with.
struct Auth {
    username: String,
    /// MD5(username ":" realm ":" password), the MESSAGE-INTEGRITY key.
    key: [u8; 16],
    realm: String,
    nonce: Vec<u8>,
}

/// A request in flight, to send again with a fresh NONCE on 438.
#[derive(Clone, Copy)]
enum Pending {
    Refresh,
    Permission(SocketAddr),
}

/// One TURN allocation over one TCP connection.
pub struct TurnClient {
    server: SocketAddr,
    local: SocketAddr,
    relayed: SocketAddr,
    reader: tokio::net::tcp::OwnedReadHalf,
    writer: mpsc::Sender<Vec<u8>>,
    rbuf: Vec<u8>,
    auth: Auth,
    lifetime: Duration,
    refresh_at: Instant,
    /// Peer IP → when its permission was last requested.
    permissions: HashMap<IpAddr, Instant>,
    pending: HashMap<[u8; 12], Pending>,
    dropped: u64,
    last_error: Option<(u16, String)>,
}

impl std::fmt::Debug for TurnClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TurnClient")
            .field("server", &self.server)
            .field("relayed", &self.relayed)
            .finish()
    }
}

impl TurnClient {
    /// Connects to `server` over TCP and allocates a UDP relay with `username` / `password`.
    pub async fn allocate(
        server: SocketAddr,
        username: &str,
        password: &str,
    ) -> Result<TurnClient, TurnError> {
        tokio::time::timeout(
            ALLOCATE_TIMEOUT,
            Self::allocate_now(server, username, password),
        )
        .await
        .map_err(|_| TurnError::Protocol("no Allocate answer within 10 s".into()))?
    }

    async fn allocate_now(
        server: SocketAddr,
        username: &str,
        password: &str,
    ) -> Result<TurnClient, TurnError> {
        let stream = TcpStream::connect(server)
            .await
            .map_err(|e| TurnError::Transport(e.to_string()))?;
        let _ = stream.set_nodelay(true);
        let local = stream
            .local_addr()
            .map_err(|e| TurnError::Transport(e.to_string()))?;
        let (mut reader, mut w) = stream.into_split();
        let mut rbuf = Vec::new();
        // First without credentials: the server answers 401 with its REALM and a NONCE.
        let transport = [17u8, 0, 0, 0];
        let mut m = Message::new(ALLOCATE);
        m.attr(ATTR_REQUESTED_TRANSPORT, &transport);
        write_all(&mut w, &m.finish(None)).await?;
        let challenge = read_message(&mut reader, &mut rbuf).await?;
        let (code, reason) = challenge
            .error()
            .ok_or_else(|| TurnError::Protocol("Allocate without credentials succeeded".into()))?;
        if code != 401 {
            return Err(TurnError::Refused { code, reason });
        }
        let realm = challenge
            .attr(ATTR_REALM)
            .map(|r| String::from_utf8_lossy(r).into_owned())
            .ok_or_else(|| TurnError::Protocol("401 without REALM".into()))?;
        let nonce = challenge
            .attr(ATTR_NONCE)
            .ok_or_else(|| TurnError::Protocol("401 without NONCE".into()))?
            .to_vec();
        let mut auth = Auth {
            username: username.to_owned(),
            key: md5(format!("{username}:{realm}:{password}").as_bytes()),
            realm,
            nonce,
        };
        // With credentials; a 438 (stale nonce) once is answered with the new NONCE.
        let mut answer = None;
        for _ in 0..2 {
            let mut m = Message::new(ALLOCATE);
            m.attr(ATTR_REQUESTED_TRANSPORT, &transport);
            m.attr(ATTR_LIFETIME, &(LIFETIME.as_secs() as u32).to_be_bytes());
            write_all(&mut w, &m.finish(Some(&auth))).await?;
            let r = read_message(&mut reader, &mut rbuf).await?;
            match r.error() {
                Some((438, _)) => {
                    if let Some(n) = r.attr(ATTR_NONCE) {
                        auth.nonce = n.to_vec();
                    }
                }
                Some((code, reason)) => return Err(TurnError::Refused { code, reason }),
                None => {
                    answer = Some(r);
                    break;
                }
            }
        }
        let ok = answer.ok_or_else(|| TurnError::Protocol("stale nonce twice".into()))?;
        let relayed = ok
            .attr(ATTR_XOR_RELAYED_ADDRESS)
            .and_then(|v| xor_addr(v, &ok.tid))
            .ok_or_else(|| TurnError::Protocol("no XOR-RELAYED-ADDRESS".into()))?;
        let lifetime = ok
            .attr(ATTR_LIFETIME)
            .and_then(|v| v.get(..4))
            .map(|v| Duration::from_secs(u32::from_be_bytes([v[0], v[1], v[2], v[3]]).into()))
            .unwrap_or(LIFETIME);
        // One writer task: sends never wait in the caller.
        let (tx, mut rx) = mpsc::channel::<Vec<u8>>(SEND_QUEUE);
        tokio::spawn(async move {
            while let Some(b) = rx.recv().await {
                if w.write_all(&b).await.is_err() {
                    return;
                }
            }
            let _ = w.shutdown().await;
        });
        Ok(TurnClient {
            server,
            local,
            relayed,
            reader,
            writer: tx,
            rbuf,
            auth,
            lifetime,
            refresh_at: Instant::now() + lifetime / 2,
            permissions: HashMap::new(),
            pending: HashMap::new(),
            dropped: 0,
            last_error: None,
        })
    }

    /// The relayed transport address: what peers see as this client's address.
    pub fn relayed(&self) -> SocketAddr {
        self.relayed
    }

    /// This end of the TCP connection to the TURN server.
    pub fn local(&self) -> SocketAddr {
        self.local
    }

    /// The TURN server's address.
    pub fn server(&self) -> SocketAddr {
        self.server
    }

    /// Datagrams dropped because the queue toward the TURN server was full.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// The last error a Refresh or CreatePermission got, if any.
    pub fn last_error(&self) -> Option<&(u16, String)> {
        self.last_error.as_ref()
    }

    /// Relays `data` to `peer` (a Send indication). The first datagram to a peer's IP asks for
    /// its permission first, on the same connection, so the server installs it before.
    pub fn send_to(&mut self, peer: SocketAddr, data: &[u8]) {
        let now = Instant::now();
        let renew = self
            .permissions
            .get(&peer.ip())
            .is_none_or(|at| now.duration_since(*at) >= PERMISSION_REFRESH);
        if renew {
            self.permissions.insert(peer.ip(), now);
            self.request(Pending::Permission(peer));
        }
        let mut m = Message::new(SEND_INDICATION);
        m.attr(ATTR_XOR_PEER_ADDRESS, &xor_encode(peer, &m.tid));
        m.attr(ATTR_DATA, data);
        self.push(m.finish(None));
    }

    /// The next datagram relayed to us: `(peer, contents)`. Refreshes the allocation when due
    /// meanwhile. Cancel-safe (bytes read are kept for the next call).
    pub async fn recv(&mut self) -> Result<(SocketAddr, Vec<u8>), TurnError> {
        let mut tmp = [0u8; 4096];
        loop {
            // Due now: checked on every call, not left to a timer (a zero sleep can lose every
            // race against a busy socket, and the allocation would expire).
            if Instant::now() >= self.refresh_at {
                self.refresh_at = Instant::now() + self.lifetime / 2;
                self.request(Pending::Refresh);
            }
            while let Some(frame) = take_frame(&mut self.rbuf)? {
                let Some(m) = frame else { continue };
                if let Some(d) = self.on_message(m) {
                    return Ok(d);
                }
            }
            let wait = self.refresh_at.saturating_duration_since(Instant::now());
            tokio::select! {
                r = self.reader.read(&mut tmp) => match r {
                    Ok(0) => return Err(TurnError::Transport("TURN server closed".into())),
                    Ok(n) => self.rbuf.extend_from_slice(&tmp[..n]),
                    Err(e) => return Err(TurnError::Transport(e.to_string())),
                },
                // Wakes the loop at the refresh time (the check above sends it).
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// Frees the allocation (a Refresh with lifetime 0); the connection closes after.
    pub fn release(&mut self) {
        let mut m = Message::new(REFRESH);
        m.attr(ATTR_LIFETIME, &0u32.to_be_bytes());
        self.push(m.finish(Some(&self.auth)));
    }

    fn request(&mut self, what: Pending) {
        let mut m = match what {
            Pending::Refresh => {
                let mut m = Message::new(REFRESH);
                m.attr(ATTR_LIFETIME, &(LIFETIME.as_secs() as u32).to_be_bytes());
                m
            }
            Pending::Permission(peer) => {
                let mut m = Message::new(CREATE_PERMISSION);
                m.attr(ATTR_XOR_PEER_ADDRESS, &xor_encode(peer, &m.tid));
                m
            }
        };
        self.pending.insert(m.tid, what);
        let bytes = m.finish(Some(&self.auth));
        self.push(bytes);
    }

    fn push(&mut self, bytes: Vec<u8>) {
        if self.writer.try_send(bytes).is_err() {
            self.dropped += 1;
        }
    }

    /// Handles one message from the server; a datagram for the caller, if it was one.
    fn on_message(&mut self, m: Parsed) -> Option<(SocketAddr, Vec<u8>)> {
        if m.method == DATA_INDICATION {
            let peer = m
                .attr(ATTR_XOR_PEER_ADDRESS)
                .and_then(|v| xor_addr(v, &m.tid))?;
            return Some((peer, m.attr(ATTR_DATA)?.to_vec()));
        }
        let what = self.pending.remove(&m.tid)?;
        match m.error() {
            None => {}
            Some((438, _)) => {
                // Stale nonce: the same request again with the new one.
                if let Some(n) = m.attr(ATTR_NONCE) {
                    self.auth.nonce = n.to_vec();
                    self.request(what);
                }
            }
            Some((code, reason)) => {
                tracing::debug!(code, %reason, "TURN request refused");
                if let Pending::Permission(p) = what {
                    self.permissions.remove(&p.ip());
                }
                self.last_error = Some((code, reason));
            }
        }
        None
    }
}

/// A STUN message being built.
struct Message {
    method: u16,
    tid: [u8; 12],
    body: Vec<u8>,
}

impl Message {
    fn new(method: u16) -> Message {
        let mut tid = [0u8; 12];
        getrandom::getrandom(&mut tid).unwrap_or_else(|_| {
            // A unique id is all STUN needs here; the time is one when the OS has no source.
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos()
                .to_be_bytes();
            tid.copy_from_slice(&t[4..16]);
        });
        Message {
            method,
            tid,
            body: Vec::new(),
        }
    }

    fn attr(&mut self, t: u16, v: &[u8]) {
        self.body.extend_from_slice(&t.to_be_bytes());
        self.body.extend_from_slice(&(v.len() as u16).to_be_bytes());
        self.body.extend_from_slice(v);
        while !self.body.len().is_multiple_of(4) {
            self.body.push(0);
        }
    }

    fn header(&self, len: usize) -> Vec<u8> {
        let mut h = Vec::with_capacity(20 + len);
        h.extend_from_slice(&self.method.to_be_bytes());
        h.extend_from_slice(&(len as u16).to_be_bytes());
        h.extend_from_slice(&MAGIC.to_be_bytes());
        h.extend_from_slice(&self.tid);
        h
    }

    /// The message's bytes; with `auth`, USERNAME, REALM, NONCE and MESSAGE-INTEGRITY.
    fn finish(&mut self, auth: Option<&Auth>) -> Vec<u8> {
        if let Some(a) = auth {
            self.attr(ATTR_USERNAME, a.username.as_bytes());
            self.attr(ATTR_REALM, a.realm.as_bytes());
            self.attr(ATTR_NONCE, &a.nonce);
            // The HMAC covers the header with the length including MESSAGE-INTEGRITY itself.
            let mut signed = self.header(self.body.len() + 24);
            signed.extend_from_slice(&self.body);
            let mut mac = <Hmac<sha1::Sha1> as Mac>::new_from_slice(&a.key).expect("any key");
            mac.update(&signed);
            let tag = mac.finalize().into_bytes();
            self.attr(ATTR_MESSAGE_INTEGRITY, &tag);
        }
        let mut out = self.header(self.body.len());
        out.extend_from_slice(&self.body);
        out
    }
}

/// A STUN message received.
struct Parsed {
    method: u16,
    tid: [u8; 12],
    attrs: Vec<(u16, Vec<u8>)>,
}

impl Parsed {
    fn attr(&self, t: u16) -> Option<&[u8]> {
        self.attrs
            .iter()
            .find(|(k, _)| *k == t)
            .map(|(_, v)| v.as_slice())
    }

    /// `(code, reason)` of an error response.
    fn error(&self) -> Option<(u16, String)> {
        if self.method & 0x0110 != CLASS_ERROR {
            return None;
        }
        let v = self.attr(ATTR_ERROR_CODE).unwrap_or(&[0, 0, 0, 0]);
        let (class, number) = (
            v.get(2).copied().unwrap_or(0),
            v.get(3).copied().unwrap_or(0),
        );
        let reason = String::from_utf8_lossy(v.get(4..).unwrap_or_default()).into_owned();
        Some((u16::from(class & 7) * 100 + u16::from(number), reason))
    }
}

/// Takes one whole frame off the front of `buf`: `Some(Some(message))` for a STUN message,
/// `Some(None)` for a skipped ChannelData message, `None` when more bytes are needed.
fn take_frame(buf: &mut Vec<u8>) -> Result<Option<Option<Parsed>>, TurnError> {
    if buf.len() < 4 {
        return Ok(None);
    }
    let len = usize::from(u16::from_be_bytes([buf[2], buf[3]]));
    if buf[0] & 0xC0 == 0x40 {
        // ChannelData: 4-byte header, padded to 4 over TCP.
        let total = (4 + len).div_ceil(4) * 4;
        if buf.len() < total {
            return Ok(None);
        }
        buf.drain(..total);
        return Ok(Some(None));
    }
    if buf[0] & 0xC0 != 0 {
        return Err(TurnError::Protocol(
            "not a STUN or ChannelData frame".into(),
        ));
    }
    let total = 20 + len;
    if buf.len() < total {
        return Ok(None);
    }
    let frame: Vec<u8> = buf.drain(..total).collect();
    parse(&frame).map(|m| Some(Some(m)))
}

fn parse(b: &[u8]) -> Result<Parsed, TurnError> {
    if b.len() < 20 || u32::from_be_bytes([b[4], b[5], b[6], b[7]]) != MAGIC {
        return Err(TurnError::Protocol("not a STUN message".into()));
    }
    let method = u16::from_be_bytes([b[0], b[1]]);
    let mut tid = [0u8; 12];
    tid.copy_from_slice(&b[8..20]);
    let mut attrs = Vec::new();
    let mut i = 20;
    while i + 4 <= b.len() {
        let t = u16::from_be_bytes([b[i], b[i + 1]]);
        let l = usize::from(u16::from_be_bytes([b[i + 2], b[i + 3]]));
        let v = b
            .get(i + 4..i + 4 + l)
            .ok_or_else(|| TurnError::Protocol("attribute past the end".into()))?;
        attrs.push((t, v.to_vec()));
        i += 4 + l.div_ceil(4) * 4;
    }
    Ok(Parsed { method, tid, attrs })
}

async fn write_all(w: &mut tokio::net::tcp::OwnedWriteHalf, b: &[u8]) -> Result<(), TurnError> {
    w.write_all(b)
        .await
        .map_err(|e| TurnError::Transport(e.to_string()))
}

/// Reads until one STUN message is whole (during the Allocate).
async fn read_message(
    r: &mut tokio::net::tcp::OwnedReadHalf,
    buf: &mut Vec<u8>,
) -> Result<Parsed, TurnError> {
    let mut tmp = [0u8; 2048];
    loop {
        if let Some(Some(m)) = take_frame(buf)? {
            if m.method & 0x0110 == CLASS_SUCCESS || m.method & 0x0110 == CLASS_ERROR {
                return Ok(m);
            }
            continue;
        }
        let n = r
            .read(&mut tmp)
            .await
            .map_err(|e| TurnError::Transport(e.to_string()))?;
        if n == 0 {
            return Err(TurnError::Transport("TURN server closed".into()));
        }
        buf.extend_from_slice(&tmp[..n]);
    }
}

/// XOR-MAPPED-ADDRESS-style encoding of `a` (RFC 8489 §14.2).
fn xor_encode(a: SocketAddr, tid: &[u8; 12]) -> Vec<u8> {
    let port = a.port() ^ (MAGIC >> 16) as u16;
    let mut v = vec![0u8];
    match a.ip() {
        IpAddr::V4(ip) => {
            v.push(1);
            v.extend_from_slice(&port.to_be_bytes());
            v.extend_from_slice(&(u32::from(ip) ^ MAGIC).to_be_bytes());
        }
        IpAddr::V6(ip) => {
            v.push(2);
            v.extend_from_slice(&port.to_be_bytes());
            let mut key = MAGIC.to_be_bytes().to_vec();
            key.extend_from_slice(tid);
            v.extend(ip.octets().iter().zip(key).map(|(a, k)| a ^ k));
        }
    }
    v
}

fn xor_addr(v: &[u8], tid: &[u8; 12]) -> Option<SocketAddr> {
    let port = u16::from_be_bytes([*v.get(2)?, *v.get(3)?]) ^ (MAGIC >> 16) as u16;
    match v.get(1)? {
        1 => {
            let x = u32::from_be_bytes(v.get(4..8)?.try_into().ok()?) ^ MAGIC;
            Some(SocketAddr::new(IpAddr::V4(x.into()), port))
        }
        2 => {
            let mut key = MAGIC.to_be_bytes().to_vec();
            key.extend_from_slice(tid);
            let mut o = [0u8; 16];
            for (i, b) in v.get(4..20)?.iter().enumerate() {
                o[i] = b ^ key[i];
            }
            Some(SocketAddr::new(IpAddr::V6(o.into()), port))
        }
        _ => None,
    }
}

/// MD5 (RFC 1321): only for the TURN long-term credential key, which the protocol defines
/// with it.
fn md5(input: &[u8]) -> [u8; 16] {
    const S: [u32; 64] = [
        7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5,
        9, 14, 20, 5, 9, 14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10,
        15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
    ];
    let k: Vec<u32> = (0..64)
        .map(|i| ((i as f64 + 1.0).sin().abs() * 4_294_967_296.0) as u32)
        .collect();
    let mut msg = input.to_vec();
    let bits = (input.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bits.to_le_bytes());
    let (mut a0, mut b0, mut c0, mut d0) = (
        0x6745_2301u32,
        0xefcd_ab89u32,
        0x98ba_dcfeu32,
        0x1032_5476u32,
    );
    for chunk in msg.chunks(64) {
        let m: Vec<u32> = chunk
            .chunks(4)
            .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
            .collect();
        let (mut a, mut b, mut c, mut d) = (a0, b0, c0, d0);
        for i in 0..64 {
            let (f, g) = match i / 16 {
                0 => ((b & c) | (!b & d), i),
                1 => ((d & b) | (!d & c), (5 * i + 1) % 16),
                2 => (b ^ c ^ d, (3 * i + 5) % 16),
                _ => (c ^ (b | !d), (7 * i) % 16),
            };
            let f = f.wrapping_add(a).wrapping_add(k[i]).wrapping_add(m[g]);
            a = d;
            d = c;
            c = b;
            b = b.wrapping_add(f.rotate_left(S[i]));
        }
        a0 = a0.wrapping_add(a);
        b0 = b0.wrapping_add(b);
        c0 = c0.wrapping_add(c);
        d0 = d0.wrapping_add(d);
    }
    let mut out = [0u8; 16];
    for (i, w) in [a0, b0, c0, d0].iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&w.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn md5_matches_rfc_1321() {
        assert_eq!(hex(&md5(b"")), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(hex(&md5(b"abc")), "900150983cd24fb0d6963f7d28e17f72");
        let long =
            b"12345678901234567890123456789012345678901234567890123456789012345678901234567890";
        assert_eq!(hex(&md5(long)), "57edf4a22be3c955ac49da2e2107b67a");
    }

    #[test]
    fn xor_addresses_round_trip() {
        let tid = [7u8; 12];
        for a in ["192.0.2.1:3478", "[2001:db8::1]:443"] {
            let a: SocketAddr = a.parse().expect("addr");
            assert_eq!(xor_addr(&xor_encode(a, &tid), &tid), Some(a));
        }
    }

    #[test]
    fn frames_split_across_reads_and_channel_data_is_skipped() {
        let mut m = Message::new(SEND_INDICATION);
        m.attr(ATTR_DATA, b"hello");
        let stun = m.finish(None);
        let mut buf = vec![0x40, 0x00, 0x00, 0x03, 1, 2, 3, 0];
        buf.extend_from_slice(&stun[..10]);
        assert!(
            matches!(take_frame(&mut buf), Ok(Some(None))),
            "ChannelData skipped"
        );
        assert!(matches!(take_frame(&mut buf), Ok(None)), "half a message");
        buf.extend_from_slice(&stun[10..]);
        let Ok(Some(Some(p))) = take_frame(&mut buf) else {
            panic!("a whole message")
        };
        assert_eq!(p.attr(ATTR_DATA), Some(&b"hello"[..]));
        assert!(buf.is_empty());
        assert!(take_frame(&mut vec![0xFF, 0, 0, 0]).is_err());
    }
}
