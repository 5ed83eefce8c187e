//! The family's side of the media plane: the requests that concern media (`sdpOffer`, share
//! and canvas), the route facts the roster gives the [`MediaPlane`], the events the shards
//! send back, and — when the family runs its shards itself ([`Shards::Inline`]) — the shards.
//!
//! The media plane never reads roster state; this file is where the two meet.

use crate::family::Family;
use crate::io::Output;
use crate::media::shard::{MediaEvent, Shard, ShardCommand, ShardInput, ShardOutput};
use crate::media::{MediaOut, RouteFact, Shards, Sharing};
use alcove_proto::api::RoomMode;
use alcove_proto::signal::{
    Location, Role, SdpAnswer, SdpOffer, ServerMessage, SharingStarted, SharingStopped, Status,
    StopReason,
};
use alcove_proto::{ClientId, ErrorCode, RequestId};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::Instant;

/// Shards a family runs itself, in index order (deterministic under a simulated clock).
#[derive(Debug, Default)]
pub(crate) struct InlineShards {
    shards: Vec<Shard>,
    /// Each shard's next deadline.
    deadlines: Vec<Option<Instant>>,
    /// Inputs waiting for their shard, in order.
    queue: VecDeque<(usize, ShardInput)>,
    /// The shard each remote address last reached.
    by_addr: HashMap<SocketAddr, usize>,
}

impl InlineShards {
    pub(crate) fn new(
        shards: Shards,
        config: Option<crate::media::MediaConfig>,
        now: Instant,
    ) -> InlineShards {
        match (shards, config) {
            (Shards::Inline(_), Some(config)) => {
                let n = shards.count();
                InlineShards {
                    shards: (0..n).map(|i| Shard::new(i, config, now)).collect(),
                    deadlines: vec![None; n],
                    ..InlineShards::default()
                }
            }
            _ => InlineShards::default(),
        }
    }

    /// The earliest deadline of any inline shard.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.deadlines.iter().flatten().min().copied()
    }

    /// Sessions per inline shard.
    pub(crate) fn sessions(&self) -> Vec<usize> {
        self.shards.iter().map(Shard::sessions).collect()
    }
}

impl Family {
    /// Runs after every input: due talker evaluation, commands to the shards, and (inline) the
    /// shards themselves until nothing is left to do now.
    pub(crate) fn media_after_input(&mut self, now: Instant) {
        loop {
            if self.media.talkers_due(now) {
                self.media.evaluate_talkers(now);
            }
            let mut progressed = false;
            while let Some(out) = self.media.pop_out() {
                progressed = true;
                match out {
                    MediaOut::Send(to, msg) => self.send(&to, None, msg),
                    MediaOut::Shard(shard, cmd) => self.command_shard(now, shard, cmd),
                }
            }
            while let Some((i, input)) = self.inline.queue.pop_front() {
                progressed = true;
                self.run_inline(i, input, now);
            }
            if !progressed && !self.media.talkers_due(now) {
                break;
            }
        }
    }

    fn command_shard(&mut self, now: Instant, shard: usize, cmd: ShardCommand) {
        if self.inline.shards.is_empty() {
            if self.media.config().is_some() {
                self.outputs.push_back(Output::ToShard { shard, cmd });
            }
        } else {
            self.inline
                .queue
                .push_back((shard, ShardInput::Command { now, cmd }));
        }
    }

    /// Gives one input to an inline shard and acts on what it says.
    fn run_inline(&mut self, i: usize, input: ShardInput, now: Instant) {
        let Some(shard) = self.inline.shards.get_mut(i) else {
            return;
        };
        shard.handle_input(input);
        let mut events = Vec::new();
        loop {
            match shard.poll_output() {
                ShardOutput::Timeout(t) => {
                    self.inline.deadlines[i] = Some(t);
                    break;
                }
                ShardOutput::Transmit {
                    source,
                    destination,
                    contents,
                } => self.outputs.push_back(Output::Transmit {
                    source,
                    destination,
                    contents,
                }),
                ShardOutput::ToShard { shard, input } => {
                    self.inline.queue.push_back((shard, input))
                }
                ShardOutput::Event(e) => events.push(e),
                ShardOutput::IceBound { client, ufrag, .. } => {
                    self.outputs.push_back(Output::IceBound { client, ufrag })
                }
                ShardOutput::IceUnbound { ufrag } => {
                    self.inline.by_addr.clear();
                    self.outputs.push_back(Output::IceUnbound { ufrag })
                }
            }
        }
        for e in events {
            self.media_event(now, e);
        }
    }

    /// A datagram for the inline shards: to the one whose session takes it.
    pub(crate) fn media_receive(
        &mut self,
        now: Instant,
        source: SocketAddr,
        destination: SocketAddr,
        contents: Vec<u8>,
    ) {
        let cached = self
            .inline
            .by_addr
            .get(&source)
            .copied()
            .filter(|i| self.inline.shards[*i].accepts(source, destination, &contents));
        let shard = cached.or_else(|| {
            self.inline
                .shards
                .iter()
                .position(|s| s.accepts(source, destination, &contents))
        });
        let Some(i) = shard else { return };
        self.inline.by_addr.insert(source, i);
        self.inline.queue.push_back((
            i,
            ShardInput::Receive {
                now,
                source,
                destination,
                contents,
            },
        ));
    }

    /// Wakes the inline shards whose deadline has come.
    pub(crate) fn media_timeout(&mut self, now: Instant) {
        for i in 0..self.inline.shards.len() {
            if self.inline.deadlines[i].is_none_or(|t| t <= now) {
                self.inline.deadlines[i] = None;
                self.inline.queue.push_back((i, ShardInput::Timeout(now)));
            }
        }
    }

    /// What a shard reported.
    pub(crate) fn media_event(&mut self, now: Instant, e: MediaEvent) {
        match e {
            MediaEvent::Answer { client, id, result } => {
                if !self.media.answered(&client, &result, now) {
                    return;
                }
                let ack = match result {
                    Ok(n) => ServerMessage::SdpAnswer(SdpAnswer {
                        result: 0,
                        msg: "Success".into(),
                        sdp: n.sdp,
                    }),
                    Err((code, msg)) => sdp_failure(code, msg),
                };
                self.send(&client, Some(id), ack);
            }
            MediaEvent::Levels { levels, urgent } => self.media.levels(levels, urgent, now),
            MediaEvent::Cameras { live } => self.media.cameras(live, now),
        }
    }

    /// Gives the media plane `client`'s route (or its departure) and acts on what it ended.
    pub(crate) fn media_route_changed(&mut self, client: &ClientId) {
        let now = self.last_now();
        let fact = self.clients.get(client).map(|c| RouteFact {
            location: c.location.clone(),
            paused: c.paused,
            heard_in_parent: !c.paused
                && !c.muted.audio
                && !c.mod_muted
                && c.user.role != Role::Viewer
                && c.listening
                    .as_ref()
                    .is_none_or(|l| !l.talking || l.talk_parent),
            // Muted by a moderator: its audio is dropped like a viewer's (server-enforced).
            viewer: c.user.role == Role::Viewer || c.mod_muted,
            listening: c
                .listening
                .as_ref()
                .map(|l| Location::Breakout(l.room.clone())),
            listen_pauses_parent: c
                .listening
                .as_ref()
                .is_some_and(|l| l.parent == alcove_proto::signal::ParentWhileListening::Paused),
            talk_into: c
                .listening
                .as_ref()
                .filter(|l| l.talking)
                .map(|l| Location::Breakout(l.room.clone())),
            broadcast: c.broadcast.as_ref().map(|b| match b {
                None => crate::media::Reach::All,
                Some(rooms) => crate::media::Reach::Rooms(
                    rooms
                        .iter()
                        .map(|r| Location::Breakout(r.clone()))
                        .collect(),
                ),
            }),
            name: c.user.name.clone(),
            camera_allowed: c.user.role != Role::Viewer,
        });
        let change = self.media.route(client, fact, now);
        for (kind, location, sharer) in change.ended {
            self.tell_room_share(kind, &location, &sharer, Some(StopReason::Left));
        }
        if let Some(here) = change.entered {
            // Entering a room (or connecting) where a share / canvas is running: say so.
            self.announce_running_shares(client, &here);
        }
    }

    pub(crate) fn sdp_offer(&mut self, caller: ClientId, id: RequestId, offer: SdpOffer) {
        if self.media.config().is_none() {
            let msg = "media is disabled on this server".to_owned();
            self.send(&caller, Some(id), sdp_failure(ErrorCode::SdpRejected, msg));
            return;
        }
        let max = self.settings.max_active_talkers as usize;
        if offer.mids.audio_slots.len() > max {
            let msg = format!("at most {max} audio slots (max_active_talkers)");
            self.send(&caller, Some(id), sdp_failure(ErrorCode::SdpRejected, msg));
            return;
        }
        let video = offer.mids.camera.is_some() || !offer.mids.video_slots.is_empty();
        if video && !self.presence.gets_video_slots(&caller) {
            let msg = "camera and video slots need protocol version 4".to_owned();
            self.send(&caller, Some(id), sdp_failure(ErrorCode::SdpRejected, msg));
            return;
        }
        let max = alcove_proto::signal::MAX_VIDEO_SLOTS;
        if offer.mids.video_slots.len() > max {
            let msg = format!("at most {max} video slots");
            self.send(&caller, Some(id), sdp_failure(ErrorCode::SdpRejected, msg));
            return;
        }
        self.media.offer(caller, id, offer.sdp, offer.mids);
    }

    /// `setVideoSlot`: the rendered height and layer cap of one of the caller's video slots,
    /// handed to the shard that holds its session (which picks the layer per packet).
    pub(crate) fn set_video_slot(
        &mut self,
        caller: ClientId,
        id: RequestId,
        req: alcove_proto::signal::SetVideoSlot,
    ) {
        let ack = if !self.presence.gets_video_slots(&caller) {
            Status::err_msg(
                ErrorCode::InvalidParameters,
                "setVideoSlot: video slots need protocol version 4",
            )
        } else {
            match self.media.set_video_slot(&caller, &req) {
                Ok(()) => Status::ok("Success"),
                Err(msg) => Status::err_msg(ErrorCode::InvalidParameters, msg),
            }
        };
        self.send(&caller, Some(id), ServerMessage::AckSetVideoSlot(ack));
    }

    // ----- screen share and canvas: one sharer of each kind per room -----

    pub(crate) fn start_sharing(
        &mut self,
        now: Instant,
        caller: ClientId,
        id: RequestId,
        kind: Sharing,
    ) {
        let ty = match kind {
            Sharing::Share => "startShare",
            Sharing::Canvas => "startCanvas",
        };
        let Some(c) = self.clients.get(&caller) else {
            return;
        };
        let location = c.location.clone();
        let allowed = match &location {
            Location::Parent => {
                self.settings.mode == RoomMode::Group || c.user.role == Role::Moderator
            }
            Location::Breakout(_) => true,
        } && match (&location, kind) {
            (Location::Parent, Sharing::Share) => self.settings.screen_share,
            (Location::Parent, Sharing::Canvas) => self.settings.canvas,
            (Location::Breakout(r), k) => self
                .breakouts
                .iter()
                .find(|b| &b.id == r)
                .map(|b| {
                    if k == Sharing::Share {
                        b.def.share
                    } else {
                        b.def.canvas
                    }
                })
                .unwrap_or(false),
        };
        let refused = if c.user.role == Role::Viewer {
            Some((ErrorCode::Unauthorized, "Viewers cannot publish".to_owned()))
        } else if !allowed {
            Some((
                ErrorCode::SharingNotAllowed,
                format!("{ty}: not enabled in this room"),
            ))
        } else {
            match self.media.sharer(kind, &location) {
                Some(other) if other != &caller => Some((
                    ErrorCode::SharingBusy,
                    ErrorCode::SharingBusy.message().to_owned(),
                )),
                _ => None,
            }
        };
        if let Some((code, msg)) = refused {
            self.send(&caller, Some(id), ServerMessage::failure_for(ty, code, msg));
            return;
        }
        let fresh = self
            .media
            .start_sharing(kind, location.clone(), caller.clone(), now);
        let ack = Status::ok("Success");
        let ack = match kind {
            Sharing::Share => ServerMessage::AckStartShare(ack),
            Sharing::Canvas => ServerMessage::AckStartCanvas(ack),
        };
        self.send(&caller, Some(id), ack);
        if fresh {
            self.tell_room_share(kind, &location, &caller, None);
        }
    }

    pub(crate) fn stop_sharing(
        &mut self,
        now: Instant,
        caller: ClientId,
        id: RequestId,
        kind: Sharing,
    ) {
        let ended = self.media.stop_sharing(kind, &caller, now);
        let ack = match ended {
            None => Status::err(ErrorCode::NotSharing),
            Some(_) => Status::ok("Success"),
        };
        let ack = match kind {
            Sharing::Share => ServerMessage::AckStopShare(ack),
            Sharing::Canvas => ServerMessage::AckStopCanvas(ack),
        };
        self.send(&caller, Some(id), ack);
        if let Some(location) = ended {
            self.tell_room_share(kind, &location, &caller, Some(StopReason::Stopped));
        }
    }

    /// `shareStarted` / `canvasStarted` for `sharer` in `location` (`stopped: None`), or
    /// `shareStopped` / `canvasStopped` with the reason.
    fn share_notice(
        &self,
        kind: Sharing,
        location: &Location,
        sharer: &ClientId,
        stopped: Option<StopReason>,
    ) -> ServerMessage {
        let room_id = self.location_room(location);
        let client_id = sharer.clone();
        match stopped {
            None => {
                let n = SharingStarted {
                    room_id,
                    client_id,
                    name: self
                        .clients
                        .get(sharer)
                        .map(|c| c.user.name.clone())
                        .unwrap_or_default(),
                };
                match kind {
                    Sharing::Share => ServerMessage::ShareStarted(n),
                    Sharing::Canvas => ServerMessage::CanvasStarted(n),
                }
            }
            Some(reason) => {
                let n = SharingStopped {
                    room_id,
                    client_id,
                    reason,
                };
                match kind {
                    Sharing::Share => ServerMessage::ShareStopped(n),
                    Sharing::Canvas => ServerMessage::CanvasStopped(n),
                }
            }
        }
    }

    /// Tells the members of `location` (but `sharer`) that `sharer`'s share / canvas shows
    /// there now (`stopped: None`) or no longer (with why).
    pub(crate) fn tell_room_share(
        &mut self,
        kind: Sharing,
        location: &Location,
        sharer: &ClientId,
        stopped: Option<StopReason>,
    ) {
        let msg = self.share_notice(kind, location, sharer, stopped);
        for m in self.members_of(location) {
            if &m != sharer {
                self.send(&m, None, msg.clone());
            }
        }
    }

    /// Tells `client`, which just entered `here` (or connected), about the shares shown there:
    /// per kind, a broadcaster's share where one shows, else the room's own.
    fn announce_running_shares(&mut self, client: &ClientId, here: &Location) {
        for kind in [Sharing::Share, Sharing::Canvas] {
            let broadcast = match here {
                Location::Breakout(r) => self.broadcast_sharer(kind, r),
                Location::Parent => None,
            };
            let Some(sharer) = broadcast.or_else(|| self.media.sharer(kind, here).cloned()) else {
                continue;
            };
            if &sharer != client {
                let msg = self.share_notice(kind, here, &sharer, None);
                self.send(client, None, msg);
            }
        }
    }

    fn location_room(&self, location: &Location) -> alcove_proto::RoomId {
        match location {
            Location::Parent => self.room_id.clone(),
            Location::Breakout(r) => r.clone(),
        }
    }

    fn members_of(&self, location: &Location) -> Vec<ClientId> {
        let mut v: Vec<(u64, ClientId)> = self
            .clients
            .values()
            .filter(|c| &c.location == location)
            .map(|c| (c.seq, c.id.clone()))
            .collect();
        v.sort();
        v.into_iter().map(|(_, c)| c).collect()
    }

    /// Test and benchmark view: who is in `rx`'s audio slots.
    pub fn slots_of(&self, rx: &ClientId) -> Vec<Option<ClientId>> {
        self.media.slots_of(rx)
    }

    /// Number of clients with a negotiated peer connection.
    pub fn media_sessions(&self) -> usize {
        self.media.session_count()
    }

    /// Test view: sessions per inline shard (empty when the shards run outside the family).
    pub fn inline_shard_sessions(&self) -> Vec<usize> {
        self.inline.sessions()
    }

    /// Test view: audio packets the inline shards forwarded, (on the direct path, through
    /// str0m) ([`Shard::audio_forwarded`]).
    pub fn inline_audio_forwarded(&self) -> (u64, u64) {
        self.inline
            .shards
            .iter()
            .map(Shard::audio_forwarded)
            .fold((0, 0), |(a, b), (c, d)| (a + c, b + d))
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
