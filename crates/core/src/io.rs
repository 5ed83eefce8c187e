//! The core's inputs and outputs.

use alcove_proto::signal::{ClientMessage, Location, Muted, Role, ServerFrame};
use alcove_proto::{ClientId, RequestId};
use serde_json::Value;
use std::net::SocketAddr;
use std::time::Instant;

/// A user admitted by the shell after its token was verified.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NewClient {
    /// Display name (from the token).
    pub name: String,
    /// Role in the parent (from the token).
    pub role: Role,
    /// The app's user reference.
    pub user_ref: String,
    /// App data shown to others.
    pub data: Value,
}

impl NewClient {
    /// A user with `name` and `role`, no reference and no data.
    pub fn new(name: &str, role: Role) -> NewClient {
        NewClient {
            name: name.to_owned(),
            role,
            user_ref: String::new(),
            data: Value::Null,
        }
    }
}

/// Everything that can happen to a family.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// A connection presented a valid token for this room (its `connect` request `id`).
    Connect {
        /// Current time.
        now: Instant,
        /// The id the shell assigned to the connection.
        client: ClientId,
        /// The `connect` request id, echoed in `roomConnected`.
        id: RequestId,
        /// Who it is.
        user: NewClient,
        /// Negotiated protocol version.
        version: u32,
    },
    /// A decoded request from a connected client.
    Request {
        /// Current time.
        now: Instant,
        /// The sender.
        client: ClientId,
        /// Its request id.
        id: RequestId,
        /// The request.
        msg: ClientMessage,
    },
    /// A client left on purpose (closed its connection normally): it leaves the family now.
    Disconnected {
        /// Current time.
        now: Instant,
        /// Who left.
        client: ClientId,
    },
    /// A client's connection was lost: it keeps its place (location, parent link, break-out
    /// membership, invitations) for `FamilyConfig::resume_grace`, then leaves as by
    /// `Disconnected`.
    Dropped {
        /// Current time.
        now: Instant,
        /// Whose connection was lost.
        client: ClientId,
    },
    /// A new connection presented a valid resume credential for `client`.
    Resume {
        /// Current time.
        now: Instant,
        /// The client taking its place back.
        client: ClientId,
        /// The `connect` request id, echoed in `roomConnected`.
        id: RequestId,
        /// Negotiated protocol version.
        version: u32,
    },
    /// A UDP datagram arrived for this family (media: ICE, DTLS, SRTP).
    Receive {
        /// Current time.
        now: Instant,
        /// Sender.
        source: SocketAddr,
        /// The local socket address it arrived on.
        destination: SocketAddr,
        /// The datagram.
        contents: Vec<u8>,
    },
    /// What a media shard running outside the family reported
    /// ([`crate::media::Shards::External`]).
    Media {
        /// Current time.
        now: Instant,
        /// The report.
        event: crate::media::shard::MediaEvent,
    },
    /// The shell's answer to [`Output::LoadPlan`]: the plan, or `None` when the app has no plan
    /// of that name.
    PlanLoaded {
        /// Current time.
        now: Instant,
        /// The moderator who asked (`applyPlan`).
        client: ClientId,
        /// Its request id.
        id: RequestId,
        /// Move members at once instead of inviting them.
        force_join: bool,
        /// The plan, if found.
        plan: Option<alcove_proto::signal::Plan>,
    },
    /// The time asked for by the last [`Output::Timeout`] (or later) has come.
    Timeout(Instant),
    /// The parent room ends (deleted through the REST API, or server shutdown).
    End {
        /// Current time.
        now: Instant,
    },
}

impl Input {
    /// The current time this input carries.
    pub fn now(&self) -> Instant {
        match self {
            Input::Connect { now, .. }
            | Input::Request { now, .. }
            | Input::Disconnected { now, .. }
            | Input::Dropped { now, .. }
            | Input::Resume { now, .. }
            | Input::Receive { now, .. }
            | Input::Media { now, .. }
            | Input::PlanLoaded { now, .. }
            | Input::End { now } => *now,
            Input::Timeout(now) => *now,
        }
    }
}

/// Why the core asks the shell to close a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// The connect was refused (room full); the error was sent first.
    Refused,
    /// The parent room ended.
    RoomEnded,
}

/// A media routing fact for one client (consumed by the media plane).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The client.
    pub client: ClientId,
    /// Where it is now; `None` once it left the family.
    pub location: Option<Location>,
    /// Parent link paused.
    pub paused: bool,
    /// Parent link muted.
    pub muted: Muted,
}

/// Everything a family asks of its shell.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Send a frame to a client.
    Send {
        /// Recipient.
        to: ClientId,
        /// The frame (an ack when `frame.id` is set).
        frame: ServerFrame,
    },
    /// Close a client's connection after the frames sent before it.
    Close {
        /// Whose.
        client: ClientId,
        /// Why.
        reason: CloseReason,
    },
    /// A client's media routing changed.
    Route(Route),
    /// Send a UDP datagram.
    Transmit {
        /// Local address to send from.
        source: SocketAddr,
        /// Where to.
        destination: SocketAddr,
        /// The datagram.
        contents: Vec<u8>,
    },
    /// A client's peer connection now answers to this ICE username fragment: route datagrams
    /// whose STUN USERNAME starts with it to this family.
    IceBound {
        /// The client.
        client: ClientId,
        /// The server-side ICE ufrag.
        ufrag: String,
    },
    /// The ICE ufrag is no longer used.
    IceUnbound {
        /// The ufrag.
        ufrag: String,
    },
    /// Give this command to media shard `shard` of this family
    /// ([`crate::media::Shards::External`]; inline shards are run by the family itself).
    ToShard {
        /// Which shard.
        shard: usize,
        /// What to do.
        cmd: crate::media::shard::ShardCommand,
    },
    /// Store `plan` under its name for the family's app (replacing one of the same name), then
    /// answer `id` with `ackSavePlan` (success with the plan, or 1138 when storing failed).
    SavePlan {
        /// The moderator who asked.
        client: ClientId,
        /// Its request id.
        id: RequestId,
        /// The plan.
        plan: alcove_proto::signal::Plan,
    },
    /// Answer `id` with `ackListPlans`: the app's stored plans.
    ListPlans {
        /// The moderator who asked.
        client: ClientId,
        /// Its request id.
        id: RequestId,
    },
    /// Load the app's plan `name` and feed it back as [`Input::PlanLoaded`].
    LoadPlan {
        /// The moderator who asked.
        client: ClientId,
        /// Its request id.
        id: RequestId,
        /// The plan's name.
        name: String,
        /// Echoed in [`Input::PlanLoaded`].
        force_join: bool,
    },
    /// Nothing more to do until this instant (feed [`Input::Timeout`] then).
    Timeout(Instant),
}
