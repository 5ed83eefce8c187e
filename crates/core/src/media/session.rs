//! Negotiation on a shard: the one SDP offer of a client's peer connection (and the
//! ICE-restart offers after a resume). The server is ICE-lite and answers; every session runs
//! in str0m's RTP mode (see `forward.rs`).

use super::congestion::Congestion;
use super::layers::{SlotPref, LAYERS};
use super::rewrite::Rewrite;
use super::shard::{Direct, MediaEvent, Mids, Negotiated, Session, Shard, ShardOutput};
use alcove_proto::signal::MediaMids;
use alcove_proto::{ClientId, ErrorCode, RequestId};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use str0m::media::Mid;
use str0m::{Candidate, Rtc};

/// How often str0m reports a receiver of camera video's RTCP receiver reports (loss, round-trip
/// time), the evidence its congestion controller reads (`congestion.rs`).
const STATS_INTERVAL: Duration = Duration::from_secs(1);

/// Packets a slot keeps for answering NACKs: about two seconds of one 30 fps share, half a
/// second of audio (audio slots are not NACKed: str0m keeps the buffer for RTX only).
const SEND_BUFFER_AUDIO: usize = 24;
/// See [`SEND_BUFFER_AUDIO`].
const SEND_BUFFER_VIDEO: usize = 256;

/// Why an offer was refused: the code and the client-safe text of the `sdpAnswer` ack.
type Refusal = (ErrorCode, String);

impl Shard {
    pub(super) fn offer(
        &mut self,
        now: Instant,
        client: ClientId,
        id: RequestId,
        sdp: &str,
        mids: &MediaMids,
    ) {
        let result = match str0m::change::SdpOffer::from_sdp_string(sdp) {
            Err(e) => Err((ErrorCode::SdpRejected, sdp_error(&e.to_string()))),
            Ok(sdp) if self.sessions.contains_key(&client) => self.reoffer(now, &client, sdp, mids),
            Ok(sdp) => self.negotiate(now, &client, sdp, mids),
        };
        self.outputs
            .push_back(ShardOutput::Event(MediaEvent::Answer {
                client,
                id,
                result,
            }));
    }

    fn negotiate(
        &mut self,
        now: Instant,
        client: &ClientId,
        sdp: str0m::change::SdpOffer,
        offered: &MediaMids,
    ) -> Result<Negotiated, Refusal> {
        // ICE credentials must be unguessable (RFC 8445): str0m draws them from its own secure
        // generator (not the family's seeded one); the ufrag is read back for demultiplexing.
        let rtc = Rtc::builder()
            .set_ice_lite(true)
            // Forward RTP packets, not frames: no depacketize / re-packetize per receiver.
            .set_rtp_mode(true)
            .set_send_buffer_audio(SEND_BUFFER_AUDIO)
            .set_send_buffer_video(SEND_BUFFER_VIDEO)
            .clear_codecs()
            .enable_opus(true, false)
            .enable_vp8(true)
            .enable_h264(true);
        // A receiver of camera video: its receiver reports (loss, round-trip time) come out as
        // stats events, from which its shard judges congestion and picks each slot's simulcast
        // layer (`congestion.rs`, `layers.rs`). No str0m bandwidth estimator: see
        // docs/decisions/0008-congestion-from-receiver-reports.md.
        let rtc = if offered.video_slots.is_empty() {
            rtc
        } else {
            rtc.set_stats_interval(Some(STATS_INTERVAL))
        };
        // The direct audio path needs the SRTP keys: str0m's provider with a DTLS layer that
        // keeps them (`srtp.rs`); the slot the build just made is taken right after it.
        let rtc = if self.config.str0m_audio {
            rtc
        } else {
            rtc.set_crypto_provider(super::srtp::provider())
        };
        let _ = super::srtp::take_key_slot();
        let mut rtc = rtc.build(now);
        let keys = if self.config.str0m_audio {
            None
        } else {
            super::srtp::take_key_slot()
        };
        let candidate = Candidate::host(self.config.candidate, "udp").map_err(|_| {
            (
                ErrorCode::Internal,
                ErrorCode::Internal.message().to_owned(),
            )
        })?;
        rtc.add_local_candidate(candidate);
        // ICE over TCP (RFC 6544): the server only accepts connections (passive).
        if let Some(tcp) = self.config.tcp_candidate {
            let candidate = Candidate::builder()
                .tcp()
                .host(tcp)
                .tcptype(str0m::net::TcpType::Passive)
                .build()
                .map_err(|_| {
                    (
                        ErrorCode::Internal,
                        ErrorCode::Internal.message().to_owned(),
                    )
                })?;
            rtc.add_local_candidate(candidate);
        }
        let creds = rtc.direct_api().local_ice_credentials();
        let (ufrag, pass) = (creds.ufrag, creds.pass);
        let answer = rtc
            .sdp_api()
            .accept_offer(sdp)
            .map_err(|e| (ErrorCode::SdpRejected, sdp_error(&e.to_string())))?;
        let mids = resolve_mids(offered);
        let all: Vec<&Mid> = mids
            .mic
            .iter()
            .chain(mids.share.iter())
            .chain(mids.canvas.iter())
            .chain(mids.audio_slots.iter())
            .chain(mids.share_slot.iter())
            .chain(mids.canvas_slot.iter())
            .chain(mids.camera.iter())
            .chain(mids.video_slots.iter())
            .collect();
        if let Some(missing) = all.iter().find(|m| rtc.media(***m).is_none()) {
            let msg = format!("SDP offer rejected: mid {missing} is not in the offer");
            return Err((ErrorCode::SdpRejected, msg));
        }
        let n = mids.audio_slots.len();
        let v = mids.video_slots.len();
        let has_mic = mids.mic.is_some();
        self.sessions.insert(
            client.clone(),
            Session {
                rtc,
                ufrag: ufrag.clone(),
                mids,
                rewrite: vec![Rewrite::audio(); n],
                video_rewrite: BTreeMap::new(),
                video_in_seq: BTreeMap::new(),
                loudness: 0.0,
                last_audio: None,
                reported: None,
                last_keyframe_request: BTreeMap::new(),
                camera_rewrite: vec![Rewrite::video(); v],
                camera_in_seq: [None; LAYERS],
                camera_rids: [None; LAYERS],
                last_camera: None,
                camera_reported: false,
                last_camera_keyframe: [None; LAYERS],
                video_prefs: vec![SlotPref::default(); v],
                layer_current: vec![None; v],
                layer_target: vec![None; v],
                congestion: Congestion::default(),
                next_alloc: now,
                send_pts: Vec::new(),
                timeout: now,
                dirty: false,
                direct: if keys.is_some() {
                    Direct::Waiting
                } else {
                    Direct::Off
                },
                keys,
                path: None,
                direct_slots: vec![None; n],
            },
        );
        self.timers.insert((now, client.clone()));
        self.outputs.push_back(ShardOutput::IceBound {
            client: client.clone(),
            ufrag,
            pass,
        });
        self.mark_dirty(client);
        Ok(Negotiated {
            sdp: answer.to_sdp_string(),
            renegotiated: false,
            has_mic,
            audio_slots: n,
            video_slots: v,
        })
    }

    /// A second offer on a negotiated connection: an ICE restart after a resume (or any
    /// renegotiation that keeps the m-line layout). The slots and routing stay as they are.
    fn reoffer(
        &mut self,
        _now: Instant,
        client: &ClientId,
        sdp: str0m::change::SdpOffer,
        offered: &MediaMids,
    ) -> Result<Negotiated, Refusal> {
        let Some(s) = self.sessions.get_mut(client) else {
            return Err((
                ErrorCode::Internal,
                ErrorCode::Internal.message().to_owned(),
            ));
        };
        let same = resolve_mids(offered);
        if same.mic != s.mids.mic
            || same.audio_slots != s.mids.audio_slots
            || same.camera != s.mids.camera
            || same.video_slots != s.mids.video_slots
        {
            let code = ErrorCode::MediaAlreadyNegotiated;
            let msg = format!(
                "{}: a new offer must keep the m-line layout",
                code.message()
            );
            return Err((code, msg));
        }
        let answer = s
            .rtc
            .sdp_api()
            .accept_offer(sdp)
            .map_err(|e| (ErrorCode::SdpRejected, sdp_error(&e.to_string())))?;
        let creds = s.rtc.direct_api().local_ice_credentials();
        let (ufrag, pass) = (creds.ufrag, creds.pass);
        let old = std::mem::replace(&mut s.ufrag, ufrag.clone());
        let negotiated = Negotiated {
            sdp: answer.to_sdp_string(),
            renegotiated: true,
            has_mic: s.mids.mic.is_some(),
            audio_slots: s.mids.audio_slots.len(),
            video_slots: s.mids.video_slots.len(),
        };
        if old != ufrag {
            self.outputs
                .push_back(ShardOutput::IceUnbound { ufrag: old });
            self.outputs.push_back(ShardOutput::IceBound {
                client: client.clone(),
                ufrag,
                pass,
            });
        }
        self.by_addr.retain(|_, c| c != client);
        self.mark_dirty(client);
        Ok(negotiated)
    }
}

/// A client-safe text for an SDP error: the parser's first line, without debug detail
/// (parser internals can include memory addresses).
fn sdp_error(detail: &str) -> String {
    let line = detail.lines().next().unwrap_or_default();
    let clean: String = line
        .chars()
        .take_while(|c| *c != '(' && *c != '{')
        .take(120)
        .collect();
    format!("SDP offer rejected: {}", clean.trim())
}

fn mid(s: &Option<String>) -> Option<Mid> {
    s.as_deref().map(Mid::from)
}

fn resolve_mids(m: &MediaMids) -> Mids {
    Mids {
        mic: mid(&m.mic),
        share: mid(&m.share),
        canvas: mid(&m.canvas),
        audio_slots: m
            .audio_slots
            .iter()
            .map(|s| Mid::from(s.as_str()))
            .collect(),
        share_slot: mid(&m.share_slot),
        canvas_slot: mid(&m.canvas_slot),
        camera: mid(&m.camera),
        video_slots: m
            .video_slots
            .iter()
            .map(|s| Mid::from(s.as_str()))
            .collect(),
    }
}
