//! `video`: `alcove-load video` (crates/load/src/scenario/video.rs) against Janus's VideoRoom,
//! with the same synthetic camera ([`alcove_load::vp8`]), the same counting
//! ([`alcove_load::scenario::video::tally`]) and the same report.
//!
//! One room (VP8). Every publisher has a Janus session with a publisher handle: our offer, one
//! send-only video m-line, simulcast `q;h;f` (lowest first, `rid_order: lmh`) with
//! `--layers 3`. Every client (publishers too) has a subscriber handle to every publisher but
//! itself: Janus offers one video m-line per feed, with `substream: 2` (the top layer, what
//! Alcove's receivers get by default) under simulcast. A subscribed feed plays the role of an
//! Alcove video slot. Then the cameras run; after the warm-up, a window over send times, as in
//! `alcove-load`: RTP counters read at both ends, frames by stamped send time, Janus's CPU and
//! RSS from `/proc`.

use crate::janus::{Handle, Jsep, Session, VIDEOROOM};
use crate::peer::{self, Peer};
use crate::steady::{clock_seconds, wait_up, Target};
use alcove_client::media::RtpCount;
use alcove_load::payload::Clock;
use alcove_load::scenario::video::tally::{PublisherCount, ReceiverCount};
use alcove_load::scenario::video::{VideoConfig, VideoReport, RTP_STATS};
use alcove_load::scenario::{ServerProbe, Span, GRACE};
use alcove_load::vp8::{self, LAYERS};
use anyhow::{anyhow, Context};
use futures_util::stream::{self, StreamExt};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use str0m::format::Codec;
use str0m::media::{Frequency, MediaTime, Mid, Rid};
use str0m::{Event, IceConnectionState, Rtc};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

/// What a peer task counted, when asked.
#[derive(Debug, Clone, Default)]
struct Snap {
    sent: PublisherCount,
    received: ReceiverCount,
    /// Cumulative RTP counters: per layer sent, all feeds received.
    rtp_sent: [RtpCount; 3],
    rtp_received: RtpCount,
    /// Cumulative keyframe requests per layer.
    requests: [u32; 3],
    connected: bool,
    ice_disconnects: u32,
}

enum Ctl {
    Publish(bool),
    Window(u64, u64),
    Snapshot(oneshot::Sender<Snap>),
}

/// One peer connection's task and its control channel.
struct PeerTask {
    ctl: mpsc::UnboundedSender<Ctl>,
    task: JoinHandle<()>,
}

impl PeerTask {
    async fn snapshot(&self) -> Snap {
        let (tx, rx) = oneshot::channel();
        let _ = self.ctl.send(Ctl::Snapshot(tx));
        rx.await.unwrap_or_default()
    }
}

struct Client {
    index: u32,
    session: Session,
    _handles: Vec<Handle>,
    publisher: Option<(u64, PeerTask)>,
    subscriber: Option<PeerTask>,
}

/// Runs the scenario.
pub async fn run(target: &Target, cfg: &VideoConfig) -> anyhow::Result<VideoReport> {
    cfg.validate()?;
    str0m::crypto::from_feature_flags().install_process_default();
    let (p, r) = (cfg.publishers, cfg.receivers);
    let total = (p + r) as usize;
    let clock = Clock::start();
    let probe = ServerProbe {
        pid: target.server_pid,
    };
    let rss_before = probe.rss();
    let admin = Session::connect(&target.url).await?;
    let version = admin.info().await.ok();
    let admin_handle = admin.attach(VIDEOROOM).await?;
    let room = 2_000_000 + u64::from(clock_seconds() % 1_000_000) * 1_000;
    admin_handle
        .request(json!({
            "request": "create",
            "room": room,
            "description": format!("janus-bench video {room}"),
            "publishers": p,
            "videocodec": "vp8",
            "bitrate": 0,
            "fir_freq": 0,
            "permanent": false,
            "is_private": true,
            "notify_joining": false,
        }))
        .await
        .with_context(|| format!("creating room {room}"))?;

    let mut failures = Vec::new();
    // Publishers first (their feed ids are needed by every subscriber).
    let results: Vec<anyhow::Result<Client>> = stream::iter(1..=p + r)
        .map(|i| join(target, room, i, i <= p, cfg.layers, clock))
        .buffer_unordered(target.connect_concurrency.max(1))
        .collect()
        .await;
    let mut clients: Vec<Client> = Vec::new();
    for res in results {
        match res {
            Ok(c) => clients.push(c),
            Err(e) => failures.push(format!("{e:#}")),
        }
    }
    clients.sort_by_key(|c| c.index);
    let feeds: Vec<(u32, u64)> = clients
        .iter()
        .filter_map(|c| c.publisher.as_ref().map(|(f, _)| (c.index, *f)))
        .collect();
    let subs: Vec<(u32, anyhow::Result<(Handle, PeerTask)>)> = stream::iter(&clients)
        .map(|c| {
            let others: Vec<u64> = feeds
                .iter()
                .filter(|(i, _)| *i != c.index)
                .map(|(_, f)| *f)
                .collect();
            async move {
                let substream = cfg.max_layer.map_or(2, |m| m.index());
                let res = subscribe(
                    target, &c.session, room, &others, cfg.layers, substream, clock,
                )
                .await;
                (
                    c.index,
                    res.with_context(|| format!("client {}: subscriber", c.index)),
                )
            }
        })
        .buffer_unordered(target.connect_concurrency.max(1))
        .collect()
        .await;
    for (index, res) in subs {
        match res {
            Ok((h, t)) => {
                if let Some(c) = clients.iter_mut().find(|c| c.index == index) {
                    c._handles.push(h);
                    c.subscriber = Some(t);
                }
            }
            Err(e) => failures.push(format!("{e:#}")),
        }
    }
    eprintln!(
        "janus-bench: {} clients up ({} failures)",
        clients.len(),
        failures.len()
    );

    let all = |f: &dyn Fn(&PeerTask)| {
        for c in &clients {
            if let Some((_, t)) = &c.publisher {
                f(t);
            }
            if let Some(t) = &c.subscriber {
                f(t);
            }
        }
    };
    all(&|t| {
        let _ = t.ctl.send(Ctl::Publish(true));
    });
    let window = Duration::from_secs_f64(cfg.seconds);
    let w0 = Instant::now() + Duration::from_secs_f64(cfg.warmup_secs);
    let w1 = w0 + window;
    let (a, b) = (clock.ns(w0), clock.ns(w1));
    all(&|t| {
        let _ = t.ctl.send(Ctl::Window(a, b));
    });
    tokio::time::sleep_until(w0.into()).await;
    let before = snaps(&clients).await;
    let span = Span::start(&probe);
    tokio::time::sleep_until(w1.into()).await;
    let resources = span.end(&probe, rss_before);
    let at_w1 = snaps(&clients).await;
    tokio::time::sleep(GRACE).await;
    all(&|t| {
        let _ = t.ctl.send(Ctl::Publish(false));
    });
    let end = snaps(&clients).await;

    let diff = |a: RtpCount, b: RtpCount| RtpCount {
        packets: b.packets.saturating_sub(a.packets),
        bytes: b.bytes.saturating_sub(a.bytes),
    };
    let mut publishers = Vec::new();
    let mut receivers = Vec::new();
    let mut media_down = 0;
    let mut ice_disconnects = 0;
    for (i, (pub_end, sub_end)) in &end {
        let find = |v: &Snaps| {
            v.iter()
                .find(|(j, _)| j == i)
                .map(|(_, s)| s.clone())
                .unwrap_or_default()
        };
        let (pa, sa) = find(&before);
        let (pb, sb) = find(&at_w1);
        for s in [pub_end, sub_end].into_iter().flatten() {
            media_down += usize::from(!s.connected);
            ice_disconnects += s.ice_disconnects;
        }
        if let Some(s) = pub_end {
            let (a, b) = (pa.unwrap_or_default(), pb.unwrap_or_default());
            let mut pc = s.sent.clone();
            pc.index = *i;
            pc.keyframe_requests =
                std::array::from_fn(|l| b.requests[l].saturating_sub(a.requests[l]));
            pc.rtp = std::array::from_fn(|l| diff(a.rtp_sent[l], b.rtp_sent[l]));
            publishers.push(pc);
        }
        if let Some(s) = sub_end {
            let (a, b) = (sa.unwrap_or_default(), sb.unwrap_or_default());
            let mut rc = s.received.clone();
            rc.index = *i;
            rc.rtp = diff(a.rtp_received, b.rtp_received);
            receivers.push(rc);
        }
    }

    for c in &clients {
        let _ = c.session.destroy().await;
    }
    for c in clients {
        for t in [c.publisher.map(|(_, t)| t), c.subscriber]
            .into_iter()
            .flatten()
        {
            drop(t.ctl);
            let _ = t.task.await;
        }
    }
    let _ = admin_handle
        .request(json!({"request": "destroy", "room": room}))
        .await;
    let _ = admin.destroy().await;

    let mut report = VideoReport::new(
        "janus",
        version,
        cfg,
        total,
        failures,
        2,
        window.as_secs_f64(),
        publishers,
        receivers,
        resources,
    );
    report.check_connected(media_down, ice_disconnects);
    Ok(report)
}

type Snaps = Vec<(u32, (Option<Snap>, Option<Snap>))>;

async fn snaps(clients: &[Client]) -> Snaps {
    futures_util::future::join_all(clients.iter().map(|c| async move {
        let p = match &c.publisher {
            Some((_, t)) => Some(t.snapshot().await),
            None => None,
        };
        let s = match &c.subscriber {
            Some(t) => Some(t.snapshot().await),
            None => None,
        };
        (c.index, (p, s))
    }))
    .await
}

/// A client's session; for a publisher, its publisher handle with the camera published.
async fn join(
    target: &Target,
    room: u64,
    index: u32,
    publish: bool,
    layers: u8,
    clock: Clock,
) -> anyhow::Result<Client> {
    let session = Session::connect(&target.url).await?;
    let mut client = Client {
        index,
        session: session.clone(),
        _handles: Vec::new(),
        publisher: None,
        subscriber: None,
    };
    if !publish {
        return Ok(client);
    }
    let mut h = session.attach(VIDEOROOM).await?;
    let (joined, _) = h
        .message(
            json!({"request": "join", "ptype": "publisher", "room": room, "display": format!("v-{index}")}),
            None,
        )
        .await
        .with_context(|| format!("client {index}: joining as publisher"))?;
    let feed = joined
        .get("id")
        .and_then(Value::as_u64)
        .ok_or_else(|| anyhow!("client {index}: no publisher id in {joined}"))?;
    let mut peer = Peer::new_video(target.bind_ip, RTP_STATS).await?;
    let rids: Vec<&str> = if layers >= 3 {
        LAYERS.iter().map(|l| l.rid).collect()
    } else {
        Vec::new()
    };
    let (offer, pending, mid) = peer.offer_sendonly_video(&rids)?;
    let (_, answer) = h
        .message(
            json!({"request": "publish", "videocodec": "vp8"}),
            Some(&Jsep {
                kind: "offer".into(),
                sdp: offer,
                rid_order: Some("lmh"),
            }),
        )
        .await
        .with_context(|| format!("client {index}: publishing"))?;
    let answer = answer.ok_or_else(|| anyhow!("client {index}: no SDP answer to publish"))?;
    peer.accept_answer(pending, &answer.sdp)?;
    let (up_tx, mut up_rx) = watch::channel(false);
    let (ctl, rx) = mpsc::unbounded_channel();
    let camera = vp8::Camera::new(index, layers);
    let task = tokio::spawn(drive(
        peer,
        Role::Publisher { mid, camera },
        clock,
        rx,
        up_tx,
    ));
    wait_up(&mut h, &mut up_rx)
        .await
        .with_context(|| format!("client {index}: publisher"))?;
    client._handles.push(h);
    client.publisher = Some((feed, PeerTask { ctl, task }));
    Ok(client)
}

/// A subscriber handle to `feeds` (top substream under simulcast), answered by a str0m peer.
async fn subscribe(
    target: &Target,
    session: &Session,
    room: u64,
    feeds: &[u64],
    layers: u8,
    substream: usize,
    clock: Clock,
) -> anyhow::Result<(Handle, PeerTask)> {
    let mut h = session.attach(VIDEOROOM).await?;
    let streams: Vec<Value> = feeds
        .iter()
        .map(|f| {
            if layers >= 3 {
                json!({"feed": f, "substream": substream})
            } else {
                json!({"feed": f})
            }
        })
        .collect();
    let (_, offer) = h
        .message(
            json!({"request": "join", "ptype": "subscriber", "room": room, "streams": streams}),
            None,
        )
        .await
        .context("subscribing")?;
    let offer = offer.ok_or_else(|| anyhow!("no SDP offer for the subscription"))?;
    let mut peer = Peer::new_video(target.bind_ip, RTP_STATS).await?;
    let answer = peer.answer(&offer.sdp)?;
    h.message(
        json!({"request": "start"}),
        Some(&Jsep {
            kind: "answer".into(),
            sdp: answer,
            rid_order: None,
        }),
    )
    .await
    .context("starting the subscription")?;
    let (up_tx, mut up_rx) = watch::channel(false);
    let (ctl, rx) = mpsc::unbounded_channel();
    let task = tokio::spawn(drive(
        peer,
        Role::Subscriber {
            slots: HashMap::new(),
        },
        clock,
        rx,
        up_tx,
    ));
    wait_up(&mut h, &mut up_rx).await?;
    Ok((h, PeerTask { ctl, task }))
}

enum Role {
    Publisher { mid: Mid, camera: vp8::Camera },
    Subscriber { slots: HashMap<Mid, usize> },
}

/// The layer index of a rid (the full layer without one: a single-stream camera sends it).
fn layer_of(rid: Option<Rid>) -> usize {
    rid.and_then(|r| LAYERS.iter().position(|l| &*r == l.rid))
        .unwrap_or(2)
}

/// Drives one peer connection: the camera at 30 frames/s (publisher) or the counting of every
/// frame (subscriber), str0m's counters, until the control channel closes.
async fn drive(
    peer: Peer,
    mut role: Role,
    clock: Clock,
    mut ctl: mpsc::UnboundedReceiver<Ctl>,
    up: watch::Sender<bool>,
) {
    let Peer {
        mut rtc,
        socket,
        local,
    } = peer;
    let mut buf = vec![0u8; 2048];
    let mut snap = Snap::default();
    let mut received_by_mid: HashMap<Mid, RtpCount> = HashMap::new();
    let mut window: Option<(u64, u64)> = None;
    let mut publishing = false;
    let mut rtp_time: u64 = 0;
    let mut tick = tokio::time::interval(vp8::FRAME_INTERVAL);
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    loop {
        let mut on_event = |e: Event| match e {
            Event::Connected => {
                let _ = up.send(true);
            }
            Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                snap.ice_disconnects += 1;
            }
            Event::KeyframeRequest(k) => snap.requests[layer_of(k.rid)] += 1,
            Event::MediaEgressStats(s) => {
                snap.rtp_sent[layer_of(s.rid)] = RtpCount {
                    packets: s.packets,
                    bytes: s.bytes,
                }
            }
            Event::MediaIngressStats(s) => {
                let now = RtpCount {
                    packets: s.packets,
                    bytes: s.bytes,
                };
                let before = received_by_mid.insert(s.mid, now).unwrap_or_default();
                snap.rtp_received.packets += now.packets.saturating_sub(before.packets);
                snap.rtp_received.bytes += now.bytes.saturating_sub(before.bytes);
            }
            Event::MediaData(d) => {
                if let Role::Subscriber { slots } = &mut role {
                    let n = slots.len();
                    let slot = *slots.entry(d.mid).or_insert(n);
                    let at_ns = clock.now_ns();
                    snap.received.received(slot, &d.data, at_ns, window);
                }
            }
            _ => {}
        };
        let Some(deadline) = peer::drain(&mut rtc, &socket, &mut on_event) else {
            break;
        };
        let wait = deadline.saturating_duration_since(Instant::now());
        tokio::select! {
            biased;
            c = ctl.recv() => match c {
                Some(Ctl::Publish(on)) => publishing = on,
                Some(Ctl::Window(a, b)) => window = Some((a, b)),
                Some(Ctl::Snapshot(tx)) => {
                    snap.connected = *up.borrow() && rtc.is_alive();
                    let _ = tx.send(snap.clone());
                }
                None => {
                    rtc.disconnect();
                    return;
                }
            },
            r = socket.recv_from(&mut buf) => {
                let Ok((n, source)) = r else { continue };
                if !peer::receive(&mut rtc, &buf[..n], source, local) {
                    break;
                }
            }
            _ = tick.tick(), if publishing && matches!(role, Role::Publisher { .. }) => {
                if let Role::Publisher { mid, camera } = &mut role {
                    let t = MediaTime::new(rtp_time, Frequency::NINETY_KHZ);
                    rtp_time += 90_000 / u64::from(vp8::FPS);
                    write_frames(&mut rtc, *mid, camera, &snap.requests, t, &clock, window, &mut snap.sent);
                }
            }
            _ = tokio::time::sleep(wait) => {
                if rtc.handle_input(str0m::Input::Timeout(Instant::now())).is_err() {
                    break;
                }
            }
        }
    }
    // The Rtc died: answer snapshots until told to stop.
    while let Some(c) = ctl.recv().await {
        if let Ctl::Snapshot(tx) = c {
            snap.connected = false;
            let _ = tx.send(snap.clone());
        }
    }
}

/// Writes the next frame of every layer of `camera` (with its rid under simulcast).
#[allow(clippy::too_many_arguments)]
fn write_frames(
    rtc: &mut Rtc,
    mid: Mid,
    camera: &mut vp8::Camera,
    requests: &[u32; 3],
    t: MediaTime,
    clock: &Clock,
    window: Option<(u64, u64)>,
    sent: &mut PublisherCount,
) {
    let simulcast = camera.layers.len() > 1;
    for i in 0..camera.layers.len() {
        let layer = usize::from(camera.layers[i]);
        let (frame, st) = camera.next(i, requests[layer], clock);
        let Some(mut w) = rtc.writer(mid) else {
            return;
        };
        let Some(pt) = w
            .payload_params()
            .find(|p| p.spec().codec == Codec::Vp8)
            .map(|p| p.pt())
        else {
            return;
        };
        if simulcast {
            w = w.rid(Rid::from(LAYERS[layer].rid));
        }
        if w.write(pt, Instant::now(), t, frame.to_vec()).is_ok() {
            sent.sent(&st, frame.len(), window);
        }
    }
}
