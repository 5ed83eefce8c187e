//! The media socket: one UDP port for every peer connection of every family.
//!
//! Datagrams are demultiplexed to families without looking inside their Rtcs: a STUN binding
//! request names the server-side ICE ufrag in its USERNAME (`server:client`), and each family
//! announces the ufrags of its sessions (`Output::IceBound`). The address a ufrag was seen from
//! is remembered, so DTLS and SRTP from that address go to the same family.

use crate::driver::{Families, FamilyMsg};
use alcove_proto::RoomId;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::net::UdpSocket;
use tracing::{debug, trace, warn};

/// ufrag → family and address → ufrag.
#[derive(Default)]
pub struct Demux {
    // std Mutex: a lookup per datagram, never held across an await.
    inner: Mutex<DemuxInner>,
}

#[derive(Default)]
struct DemuxInner {
    ufrags: HashMap<String, RoomId>,
    addrs: HashMap<SocketAddr, String>,
}

impl Demux {
    fn lock(&self) -> std::sync::MutexGuard<'_, DemuxInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A family's session answers to `ufrag`.
    pub fn bind(&self, ufrag: String, room: RoomId) {
        self.lock().ufrags.insert(ufrag, room);
    }

    /// The session behind `ufrag` is gone.
    pub fn unbind(&self, ufrag: &str) {
        let mut d = self.lock();
        d.ufrags.remove(ufrag);
        d.addrs.retain(|_, u| u != ufrag);
    }

    /// The family a datagram from `source` belongs to.
    fn route(&self, source: SocketAddr, datagram: &[u8]) -> Option<RoomId> {
        let mut d = self.lock();
        if let Some(ufrag) = stun_server_ufrag(datagram) {
            let room = d.ufrags.get(ufrag)?.clone();
            if d.addrs.get(&source).map(String::as_str) != Some(ufrag) {
                d.addrs.insert(source, ufrag.to_owned());
            }
            return Some(room);
        }
        let ufrag = d.addrs.get(&source)?;
        d.ufrags.get(ufrag).cloned()
    }
}

/// The server-side ufrag of a STUN message (`USERNAME` = `server:client`), if it is one.
pub fn stun_server_ufrag(b: &[u8]) -> Option<&str> {
    if b.len() < 20 || b[0] & 0xC0 != 0 || b[4..8] != [0x21, 0x12, 0xA4, 0x42] {
        return None;
    }
    let len = usize::from(u16::from_be_bytes([b[2], b[3]]));
    let end = (20 + len).min(b.len());
    let mut i = 20;
    while i + 4 <= end {
        let ty = u16::from_be_bytes([b[i], b[i + 1]]);
        let l = usize::from(u16::from_be_bytes([b[i + 2], b[i + 3]]));
        let v = b.get(i + 4..i + 4 + l)?;
        if ty == 0x0006 {
            return std::str::from_utf8(v).ok()?.split(':').next();
        }
        i += 4 + ((l + 3) & !3);
    }
    None
}

/// Reads the media socket forever, handing each datagram to its family.
pub async fn recv_loop(socket: Arc<UdpSocket>, demux: Arc<Demux>, families: Arc<Families>) {
    let mut buf = vec![0u8; 2048];
    loop {
        let (n, source) = match socket.recv_from(&mut buf).await {
            Ok(x) => x,
            Err(e) => {
                // ICMP errors (port unreachable from a gone client) surface here on Linux.
                debug!("udp recv: {e}");
                continue;
            }
        };
        let datagram = &buf[..n];
        let Some(room) = demux.route(source, datagram) else {
            trace!(n, "udp datagram for no family");
            continue;
        };
        if !families.send(
            &room,
            FamilyMsg::Datagram {
                source,
                contents: datagram.to_vec(),
            },
        ) {
            warn!("udp datagram for a family that ended");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding_request(username: &str) -> Vec<u8> {
        let mut attr = vec![0x00, 0x06];
        attr.extend_from_slice(&(username.len() as u16).to_be_bytes());
        attr.extend_from_slice(username.as_bytes());
        while attr.len() % 4 != 0 {
            attr.push(0);
        }
        let mut m = vec![0x00, 0x01];
        m.extend_from_slice(&(attr.len() as u16).to_be_bytes());
        m.extend_from_slice(&[0x21, 0x12, 0xA4, 0x42]);
        m.extend_from_slice(&[7; 12]);
        m.extend_from_slice(&attr);
        m
    }

    #[test]
    fn finds_the_server_ufrag_in_a_binding_request() {
        assert_eq!(
            stun_server_ufrag(&binding_request("abcd:efgh")),
            Some("abcd")
        );
        assert_eq!(stun_server_ufrag(&[0x80, 0, 0, 0]), None, "RTP is not STUN");
        assert_eq!(stun_server_ufrag(&[22, 254, 253]), None, "DTLS is not STUN");
        let mut truncated = binding_request("abcd:efgh");
        truncated.truncate(26);
        assert_eq!(stun_server_ufrag(&truncated), None);
    }

    #[test]
    fn addresses_follow_their_ufrag() {
        let d = Demux::default();
        d.bind("abcd".into(), RoomId::from("r1"));
        let a: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        assert_eq!(d.route(a, &[0x80, 0]), None, "unknown address before STUN");
        assert_eq!(
            d.route(a, &binding_request("abcd:x")),
            Some(RoomId::from("r1"))
        );
        assert_eq!(
            d.route(a, &[0x80, 0]),
            Some(RoomId::from("r1")),
            "SRTP follows"
        );
        d.unbind("abcd");
        assert_eq!(d.route(a, &[0x80, 0]), None);
    }
}
