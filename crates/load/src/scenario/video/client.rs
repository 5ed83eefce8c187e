//! One client of the `video` scenario: a real SDK connection with a camera m-line (one stream,
//! or simulcast `q`/`h`/`f`) and video slots, driven by one task, like [`crate::client`] for
//! audio. A publisher sends every layer at 30 frames/s from [`vp8::Camera`] and answers
//! keyframe requests with a keyframe of the requested layer; every client counts the frames
//! of its video slots inside the window.

use super::tally::{PublisherCount, ReceiverCount};
use super::RTP_STATS;
use crate::client::MEDIA_TIMEOUT;
use crate::payload::Clock;
use crate::target::Target;
use crate::vp8;
use alcove_client::media::{Media, MediaOptions, MediaState, VideoFrame};
use alcove_client::proto::api::CreateTokenRequest;
use alcove_client::proto::signal::{
    ClientMessage, Role, ServerMessage, SetVideoSlot, VideoLayer, VideoPublisher,
};
use alcove_client::proto::{ClientId, RoomId};
use alcove_client::{Events, Room};
use anyhow::Context;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

/// What one client is.
#[derive(Debug, Clone)]
pub struct VideoSpec {
    /// Index in the run (publishers first, from 1).
    pub index: u32,
    /// Publishes a camera.
    pub publish: bool,
    /// Camera layers: 1 (one stream, the full layer) or 3 (simulcast q/h/f).
    pub layers: u8,
    /// Video slots negotiated.
    pub video_slots: usize,
    /// Asked for on every slot with `setVideoSlot` (height 720), when given.
    pub max_layer: Option<super::MaxLayer>,
}

/// Everything a client counted, at the moment it was asked.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Index in the run.
    pub index: u32,
    /// Its sends inside the window (publishers).
    pub sent: PublisherCount,
    /// Its frames inside the window.
    pub received: ReceiverCount,
    /// Peer connection facts and str0m's RTP counters now.
    pub media: MediaState,
    /// Camera frames sent in all, per layer.
    pub frames_sent_total: u64,
    /// The latest `videoSlotsUpdated`: publishers on its slots.
    pub slots: Vec<VideoPublisher>,
    /// The signalling connection ended.
    pub closed: bool,
}

enum Ctl {
    Publish(bool),
    Window { start_ns: u64, end_ns: u64 },
    Snapshot(oneshot::Sender<Snapshot>),
}

/// A connected client; its task runs until [`VideoClient::close`].
#[derive(Debug)]
pub struct VideoClient {
    /// Index in the run.
    pub index: u32,
    /// Assigned by the server.
    pub client_id: ClientId,
    room: Room,
    ctl: mpsc::UnboundedSender<Ctl>,
    task: JoinHandle<()>,
}

impl VideoClient {
    /// Token, signalling, `sdpOffer` with the camera and `video_slots`, ICE + DTLS.
    pub async fn connect(
        target: &Target,
        room_id: &RoomId,
        spec: VideoSpec,
        clock: Clock,
    ) -> anyhow::Result<VideoClient> {
        let name = format!("v-{}", spec.index);
        let req = CreateTokenRequest {
            name: name.clone(),
            role: Role::Participant,
            user_ref: format!("load-{}", spec.index),
            data: serde_json::Value::Null,
        };
        let token = target
            .rest
            .create_token(room_id, &req)
            .await
            .with_context(|| format!("{name}: token"))?;
        let (room, events) = alcove_client::connect(&target.signal_url, &token.token)
            .await
            .with_context(|| format!("{name}: connect"))?;
        let options = MediaOptions {
            slots: Some(1),
            video_slots: spec.video_slots,
            camera_simulcast: spec.layers >= 3,
            rtp_stats: Some(RTP_STATS),
            ..MediaOptions::default()
        };
        let mut media = room
            .start_media_with(target.bind_ip, options)
            .await
            .with_context(|| format!("{name}: sdpOffer"))?;
        if !media.wait_connected(MEDIA_TIMEOUT).await {
            anyhow::bail!("{name}: ICE + DTLS not up within {MEDIA_TIMEOUT:?}");
        }
        if let Some(max) = spec.max_layer {
            let layer = VideoLayer::from_index(max.index());
            for slot in 0..spec.video_slots {
                let msg = ClientMessage::SetVideoSlot(SetVideoSlot {
                    slot: u32::try_from(slot)?,
                    height: 720,
                    max_layer: layer,
                });
                let ack = room
                    .request(msg)
                    .await
                    .with_context(|| format!("{name}: setVideoSlot {slot}"))?;
                anyhow::ensure!(
                    ack.msg.result() == Some(0),
                    "{name}: setVideoSlot {slot} refused: {:?}",
                    ack.msg
                );
            }
        }
        let (ctl, rx) = mpsc::unbounded_channel();
        let client_id = room.client_id().clone();
        let st = Task {
            clock,
            camera: vp8::Camera::new(spec.index, spec.layers),
            simulcast: spec.layers >= 3,
            publishing: false,
            window: None,
            snap: Snapshot {
                index: spec.index,
                sent: PublisherCount {
                    index: spec.index,
                    ..PublisherCount::default()
                },
                received: ReceiverCount {
                    index: spec.index,
                    ..ReceiverCount::default()
                },
                ..Snapshot::default()
            },
        };
        let task = tokio::spawn(run(st, media, events, rx));
        Ok(VideoClient {
            index: spec.index,
            client_id,
            room,
            ctl,
            task,
        })
    }

    /// Starts or stops the camera.
    pub fn publish(&self, on: bool) {
        let _ = self.ctl.send(Ctl::Publish(on));
    }

    /// Counts frames stamped in `[start_ns, end_ns)` from now on.
    pub fn window(&self, start_ns: u64, end_ns: u64) {
        let _ = self.ctl.send(Ctl::Window { start_ns, end_ns });
    }

    /// Everything counted so far.
    pub async fn snapshot(&self) -> Snapshot {
        let (tx, rx) = oneshot::channel();
        let _ = self.ctl.send(Ctl::Snapshot(tx));
        rx.await.unwrap_or_else(|_| Snapshot {
            index: self.index,
            closed: true,
            ..Snapshot::default()
        })
    }

    /// Stops the task (closing the peer connection) and the signalling connection.
    pub async fn close(self) {
        drop(self.ctl);
        let _ = self.task.await;
        self.room.close().await;
    }
}

struct Task {
    clock: Clock,
    camera: vp8::Camera,
    simulcast: bool,
    publishing: bool,
    window: Option<(u64, u64)>,
    snap: Snapshot,
}

impl Task {
    fn send(&mut self, media: &Media) {
        let requests = media.state().camera_keyframe_requests;
        for i in 0..self.camera.layers.len() {
            // Without simulcast the one stream's requests are counted on index 0.
            let req_index = if self.simulcast {
                usize::from(self.camera.layers[i])
            } else {
                0
            };
            let (frame, st) = self.camera.next(i, requests[req_index], &self.clock);
            if self.simulcast {
                media.send_camera_layer(usize::from(st.layer), frame);
            } else {
                media.send_camera_frame(frame);
            }
            self.snap.sent.sent(&st, frame.len(), self.window);
            self.snap.frames_sent_total += 1;
        }
    }

    fn frame(&mut self, f: &VideoFrame) {
        let at_ns = self.clock.ns(f.at);
        self.snap
            .received
            .received(f.slot, &f.data, at_ns, self.window);
    }
}

async fn run(
    mut st: Task,
    mut media: Media,
    mut events: Events,
    mut ctl: mpsc::UnboundedReceiver<Ctl>,
) {
    // Publishers start their frames at a phase of their own inside the frame interval.
    let frac = (f64::from(st.snap.index) * 0.618_033_988_75).fract();
    let start = tokio::time::Instant::now() + vp8::FRAME_INTERVAL.mul_f64(frac);
    let mut tick = tokio::time::interval_at(start, vp8::FRAME_INTERVAL);
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut events_open = true;
    let mut video_open = true;
    loop {
        tokio::select! {
            biased;
            c = ctl.recv() => match c {
                Some(Ctl::Publish(on)) => st.publishing = on,
                Some(Ctl::Window { start_ns, end_ns }) => st.window = Some((start_ns, end_ns)),
                Some(Ctl::Snapshot(tx)) => {
                    st.snap.media = media.state();
                    let _ = tx.send(st.snap.clone());
                }
                None => break,
            },
            e = events.next(), if events_open => match e {
                Some(frame) => match frame.msg {
                    ServerMessage::VideoSlotsUpdated(v) => st.snap.slots = v.publishers,
                    ServerMessage::RoomDisconnected(_) => st.snap.closed = true,
                    _ => {}
                },
                None => {
                    events_open = false;
                    st.snap.closed = true;
                }
            },
            f = media.recv_video(), if video_open => match f {
                Some(frame) => {
                    st.frame(&frame);
                    for _ in 0..64 {
                        let Some(frame) = media.try_recv_video() else { break };
                        st.frame(&frame);
                    }
                    // Audio slots carry nothing here (nobody talks); drained all the same.
                    while media.try_recv().is_some() {}
                }
                None => video_open = false,
            },
            _ = tick.tick(), if st.publishing && video_open => st.send(&media),
        }
    }
    media.close();
}
