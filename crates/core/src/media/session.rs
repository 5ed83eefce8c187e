//! Negotiation: the one SDP offer of a client's peer connection (and the ICE-restart offers
//! after a resume). The server is ICE-lite and answers; every session runs in str0m's RTP mode
//! (see `forward.rs`).

use super::rewrite::Rewrite;
use super::{resolve_mids, sdp_error, Session};
use crate::family::Family;
use crate::io::Output;
use alcove_proto::signal::{MediaMids, SdpAnswer, SdpOffer, ServerMessage};
use alcove_proto::{ClientId, ErrorCode, RequestId};
use std::collections::BTreeMap;
use std::time::Instant;
use str0m::media::Mid;
use str0m::{Candidate, Rtc};

/// Packets a slot keeps for answering NACKs: about two seconds of one 30 fps share, half a
/// second of audio (audio slots are not NACKed: str0m keeps the buffer for RTX only).
const SEND_BUFFER_AUDIO: usize = 24;
/// See [`SEND_BUFFER_AUDIO`].
const SEND_BUFFER_VIDEO: usize = 256;

impl Family {
    pub(crate) fn sdp_offer(
        &mut self,
        now: Instant,
        caller: ClientId,
        id: RequestId,
        offer: SdpOffer,
    ) {
        let Some(config) = self.media.config else {
            self.send(
                &caller,
                Some(id),
                sdp_failure(
                    ErrorCode::SdpRejected,
                    "media is disabled on this server".into(),
                ),
            );
            return;
        };
        let max = self.settings.max_active_talkers as usize;
        if offer.mids.audio_slots.len() > max {
            let msg = format!("at most {max} audio slots (max_active_talkers)");
            self.send(&caller, Some(id), sdp_failure(ErrorCode::SdpRejected, msg));
            return;
        }
        let sdp = match str0m::change::SdpOffer::from_sdp_string(&offer.sdp) {
            Ok(s) => s,
            Err(e) => {
                self.send(
                    &caller,
                    Some(id),
                    sdp_failure(ErrorCode::SdpRejected, sdp_error(&e.to_string())),
                );
                return;
            }
        };
        if self.media.sessions.contains_key(&caller) {
            self.reoffer(now, caller, id, sdp, &offer.mids);
            return;
        }
        // ICE credentials must be unguessable (RFC 8445): str0m draws them from its own secure
        // generator (not the family's seeded one); the ufrag is read back for demultiplexing.
        let mut rtc = Rtc::builder()
            .set_ice_lite(true)
            // Forward RTP packets, not frames: no depacketize / re-packetize per receiver.
            .set_rtp_mode(true)
            .set_send_buffer_audio(SEND_BUFFER_AUDIO)
            .set_send_buffer_video(SEND_BUFFER_VIDEO)
            .clear_codecs()
            .enable_opus(true, false)
            .enable_vp8(true)
            .enable_h264(true)
            .build(now);
        match Candidate::host(config.candidate, "udp") {
            Ok(c) => {
                rtc.add_local_candidate(c);
            }
            Err(e) => {
                self.send(&caller, Some(id), {
                    let _ = e;
                    sdp_failure(ErrorCode::Internal, ErrorCode::Internal.message().into())
                });
                return;
            }
        }
        let ufrag = rtc.direct_api().local_ice_credentials().ufrag;
        let answer = match rtc.sdp_api().accept_offer(sdp) {
            Ok(a) => a,
            Err(e) => {
                self.send(
                    &caller,
                    Some(id),
                    sdp_failure(ErrorCode::SdpRejected, sdp_error(&e.to_string())),
                );
                return;
            }
        };
        let mids = resolve_mids(&offer.mids);
        let all: Vec<&Mid> = mids
            .mic
            .iter()
            .chain(mids.share.iter())
            .chain(mids.canvas.iter())
            .chain(mids.audio_slots.iter())
            .chain(mids.share_slot.iter())
            .chain(mids.canvas_slot.iter())
            .collect();
        if let Some(missing) = all.iter().find(|m| rtc.media(***m).is_none()) {
            let msg = format!("SDP offer rejected: mid {missing} is not in the offer");
            self.send(&caller, Some(id), sdp_failure(ErrorCode::SdpRejected, msg));
            return;
        }
        let n = mids.audio_slots.len();
        self.media.sessions.insert(
            caller.clone(),
            Session {
                rtc,
                ufrag: ufrag.clone(),
                mids,
                slots: vec![None; n],
                rewrite: vec![Rewrite::audio(); n],
                video_src: BTreeMap::new(),
                video_rewrite: BTreeMap::new(),
                video_in_seq: BTreeMap::new(),
                loudness: 0.0,
                last_audio: None,
                last_keyframe_request: BTreeMap::new(),
                announced: None,
                send_pts: Vec::new(),
                timeout: now,
                dirty: false,
            },
        );
        self.media.timers.insert((now, caller.clone()));
        let ack = SdpAnswer {
            result: 0,
            msg: "Success".into(),
            sdp: answer.to_sdp_string(),
        };
        self.send(&caller, Some(id), ServerMessage::SdpAnswer(ack));
        self.outputs.push_back(Output::IceBound {
            client: caller.clone(),
            ufrag,
        });
        self.drive(&caller, now);
        self.evaluate_talkers(now);
    }

    /// A second offer on a negotiated connection: an ICE restart after a resume (or any
    /// renegotiation that keeps the m-line layout). The slots and routing stay as they are.
    fn reoffer(
        &mut self,
        now: Instant,
        caller: ClientId,
        id: RequestId,
        sdp: str0m::change::SdpOffer,
        mids: &MediaMids,
    ) {
        let Some(s) = self.media.sessions.get_mut(&caller) else {
            return;
        };
        let same = resolve_mids(mids);
        if same.mic != s.mids.mic || same.audio_slots != s.mids.audio_slots {
            let code = ErrorCode::MediaAlreadyNegotiated;
            let msg = format!(
                "{}: a new offer must keep the m-line layout",
                code.message()
            );
            self.send(&caller, Some(id), sdp_failure(code, msg));
            return;
        }
        let answer = match s.rtc.sdp_api().accept_offer(sdp) {
            Ok(a) => a,
            Err(e) => {
                self.send(
                    &caller,
                    Some(id),
                    sdp_failure(ErrorCode::SdpRejected, sdp_error(&e.to_string())),
                );
                return;
            }
        };
        let ufrag = s.rtc.direct_api().local_ice_credentials().ufrag;
        let old = std::mem::replace(&mut s.ufrag, ufrag.clone());
        let ack = SdpAnswer {
            result: 0,
            msg: "Success".into(),
            sdp: answer.to_sdp_string(),
        };
        self.send(&caller, Some(id), ServerMessage::SdpAnswer(ack));
        if old != ufrag {
            self.outputs.push_back(Output::IceUnbound { ufrag: old });
            self.outputs.push_back(Output::IceBound {
                client: caller.clone(),
                ufrag,
            });
        }
        self.media.by_addr.retain(|_, c| c != &caller);
        self.drive(&caller, now);
    }
}

/// The failure answer to an `sdpOffer`.
fn sdp_failure(code: ErrorCode, msg: String) -> ServerMessage {
    ServerMessage::SdpAnswer(SdpAnswer {
        result: code.code(),
        msg,
        sdp: String::new(),
    })
}
