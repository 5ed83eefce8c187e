//! Alcove's Rust client SDK: signalling for break-out rooms, and the Server REST API.
//!
//! * [`connect`] opens one signalling connection for one client and returns the parent-room
//!   handle [`Room`] plus [`Events`], every frame the server sends, in arrival order.
//! * The break-out operations are methods named after the contract's
//!   (`reference/seed-breakout-room.md`): [`Room::create_break_out_room`],
//!   [`Room::invite_to_break_out_room`], [`Room::join_breakout_room`] (→ [`BreakoutRoom`],
//!   whose [`BreakoutRoom::disconnect`] leaves again), [`Room::pause`], [`Room::mute_room`],
//!   [`Room::destroy_all_break_out_session`], …; [`Room::request`] sends any raw request.
//! * [`RestClient`] is the app backend's side: rooms, tokens, who is where.
//! * [`ClientSession`] is the signalling state without I/O, for drivers other than the
//!   tokio one (a deterministic simulation, say).
//!
//! * Facilitation (protocol version 3): timers ([`Room::set_breakout_duration`]), broadcasts
//!   ([`Room::broadcast_message`]), help ([`Room::request_help`], [`Room::dismiss_help`], …),
//!   one-step moves ([`Room::move_to_breakout_room`]), self-select and names
//!   ([`Room::set_self_select`], [`Room::rename_breakout_room`]), plans ([`Room::save_plan`],
//!   [`Room::list_plans`], [`Room::apply_plan`]) and moderation ([`Room::mute_member`],
//!   [`Room::ask_to_unmute`], [`Room::unmute_self`]). Their notifications are typed by
//!   [`FacilitationEvent`]; [`Room::state`] keeps the room list, this client's location and
//!   the server's clock offset ([`RoomState`]).
//! * Listen-in, talk-in and audio broadcast (issue 11): [`Room::listen_to`],
//!   [`Room::talk_to`], [`Room::stop_listening`], [`Room::start_broadcast`],
//!   [`Room::stop_broadcast`]; notifications typed by [`ListenEvent`]; this client's listening
//!   state and who monitors its room in [`RoomState`] ([`RoomState::listening`],
//!   [`RoomState::monitored_by`]).
//! * Camera video (issue 14, protocol version 4): [`Room::set_video_slot`] (rendered height
//!   and layer cap of a video slot) and the moderators' pinned cameras, [`Room::pin_users`] /
//!   [`Room::unpin_users`]; the pin list in [`RoomState::pinned`].
//!
//! A failed acknowledgement (`result != 0`) is [`Error::Refused`]; requests give up after
//! [`REQUEST_TIMEOUT`]. Media: [`Room::start_media`] negotiates the client's one peer connection
//! (see [`media`]).
//!
//! ```no_run
//! use alcove_client::proto::api::CreateTokenRequest;
//! use alcove_client::proto::signal::{JoinRole, Role, RoomDefinition};
//! use alcove_client::{connect, RestClient};
//!
//! # async fn demo(room_id: alcove_client::proto::RoomId) -> Result<(), Box<dyn std::error::Error>> {
//! let rest = RestClient::new("http://127.0.0.1:7880", "app-id", "app-key");
//! let token = rest
//!     .create_token(&room_id, &CreateTokenRequest {
//!         name: "Ada".into(),
//!         role: Role::Moderator,
//!         user_ref: "ada".into(),
//!         data: serde_json::json!({}),
//!     })
//!     .await?;
//! let (room, mut events) = connect(&rest.signal_url(), &token.token).await?;
//! let def = RoomDefinition {
//!     participants: 2, audio: true, video: false, canvas: false, share: true,
//!     max_rooms: 1, force_join: false, ..RoomDefinition::default()
//! };
//! let ack = room.create_break_out_room(&def).await?;
//! let br_id = ack.msg.data().expect("rooms on success").rooms[0].clone();
//! let br = room.join_breakout_room(&br_id, JoinRole::Moderator, Default::default()).await?;
//! while let Some(frame) = events.try_next() {
//!     println!("{}", frame.msg.type_name());
//! }
//! br.disconnect().await?;
//! room.close().await;
//! # Ok(()) }
//! ```
//!
//! Reconnection is automatic: a dropped connection is resumed within [`RESUME_WINDOW`] (same
//! client id, same place; see [`Room::connection_state`]), and a running [`media::Media`]
//! restores its audio on its own (an ICE restart, or a new peer connection after a server
//! restart).
//!
//! TLS: `wss://` and `https://` trust the system's root certificates; [`connect_tls`] and
//! [`RestClient::with_tls`] take a [`Tls`] that also trusts a private CA
//! ([`Tls::with_root_pem`]).
#![deny(missing_docs)]

mod breakout;
mod client;
mod error;
mod events;
mod facilitate;
pub mod media;
mod rest;
pub mod session;
mod state;
pub mod tls;
pub mod turn;
mod users;
mod video;

/// The wire protocol crate (`alcove-proto`): message, REST body and id types.
pub use alcove_proto as proto;

pub use breakout::BreakoutRoom;
pub use client::{connect, connect_tls, ConnectionState, Room, REQUEST_TIMEOUT, RESUME_WINDOW};
pub use error::Error;
pub use events::{Events, FacilitationEvent, LeftBreakoutRoom, ListenEvent};
pub use rest::{signal_url, RestClient, RestError};
pub use session::{ClientSession, SessionEvent};
pub use state::RoomState;
pub use tls::{Tls, TlsError};
pub use users::UserList;
