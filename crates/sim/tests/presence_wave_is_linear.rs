//! A class of 500: a wave (create-and-invite with `force_join` into 50 rooms, destroy all, a
//! second wave left one by one with clear-all, a crowd connecting) costs every protocol-2
//! client ONE presence frame per operation (`usersUpdated`), not one per moved user, while a
//! protocol-1 client still gets the per-user frames it always got. Every client's user list,
//! rebuilt from `roomConnected` and the presence frames it received, equals the family's.
//!
//! Drives the core directly (the simulated world speaks protocol 1).

use alcove_core::{Family, FamilyConfig, Input, NewClient, Output};
use alcove_proto::api::RoomSettings;
use alcove_proto::signal::{decode_client_frame, Location, Role, ServerMessage, UserInfo};
use alcove_proto::{ClientId, RequestId, RoomId};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const PARTICIPANTS: usize = 500;
const ROOMS: usize = 50;
/// What the issue asks at most: a handful of presence frames per recipient per operation.
/// Batching makes it exactly one.
const PRESENCE_FRAMES_PER_OPERATION: usize = 1;

const V1_PRESENCE: &[&str] = &[
    "userConnected",
    "userDisconnected",
    "userMoved",
    "userPaused",
    "userMuted",
];

/// One recipient's view: frames of the current operation, and its user list (by id).
#[derive(Default)]
struct View {
    frames: Vec<ServerMessage>,
    users: BTreeMap<ClientId, UserInfo>,
}

impl View {
    fn apply(&mut self, msg: &ServerMessage) {
        let users = &mut self.users;
        match msg {
            ServerMessage::RoomConnected(c) => {
                *users = c
                    .users
                    .iter()
                    .map(|u| (u.client_id.clone(), u.clone()))
                    .collect();
            }
            ServerMessage::UserConnected(u) => {
                users.insert(u.client_id.clone(), u.clone());
            }
            ServerMessage::UserDisconnected(u) => {
                users.remove(&u.client_id);
            }
            ServerMessage::UserMoved(m) => {
                if let Some(u) = users.get_mut(&m.client_id) {
                    u.location = m.location.clone();
                }
            }
            ServerMessage::UserPaused(p) => {
                if let Some(u) = users.get_mut(&p.client_id) {
                    u.paused = p.paused;
                }
            }
            ServerMessage::UserMuted(m) => {
                if let Some(u) = users.get_mut(&m.client_id) {
                    u.muted = m.muted;
                }
            }
            ServerMessage::UsersUpdated(b) => {
                for u in &b.users {
                    users.insert(u.client_id.clone(), u.clone());
                }
                for c in &b.left {
                    users.remove(c);
                }
            }
            _ => {}
        }
    }

    fn count(&self, types: &[&str]) -> usize {
        self.frames
            .iter()
            .filter(|m| types.contains(&m.type_name()))
            .count()
    }
}

struct Class {
    family: Family,
    now: Instant,
    views: BTreeMap<ClientId, View>,
    next_id: u64,
}

impl Class {
    fn new() -> Class {
        let settings = RoomSettings {
            participants: 1000,
            max_breakout_rooms: ROOMS as u32,
            max_active_talkers: 11,
            ..RoomSettings::default()
        };
        let now = Instant::now();
        let config = FamilyConfig::new(RoomId("class".into()), "Class", settings, 5);
        Class {
            family: Family::new(config, now),
            now,
            views: BTreeMap::new(),
            next_id: 1,
        }
    }

    fn step(&mut self, input: Input) -> usize {
        self.family.handle_input(input);
        let mut sends = 0;
        loop {
            match self.family.poll_output() {
                Output::Timeout(_) => break,
                Output::Send { to, frame } => {
                    sends += 1;
                    let view = self.views.entry(to).or_default();
                    view.apply(&frame.msg);
                    view.frames.push(frame.msg);
                }
                _ => {}
            }
        }
        sends
    }

    fn connect(&mut self, name: &str, role: Role, version: u32) -> ClientId {
        self.now += Duration::from_millis(1);
        let client = ClientId(format!("c-{name}"));
        self.step(Input::Connect {
            now: self.now,
            client: client.clone(),
            id: RequestId(0),
            user: NewClient::new(name, role),
            version,
        });
        client
    }

    fn request(&mut self, client: &ClientId, json: &str) -> usize {
        self.now += Duration::from_millis(1);
        let id = self.next_id;
        self.next_id += 1;
        let frame = decode_client_frame(&format!(r#"{{"id":{id},{json}}}"#)).expect("valid");
        self.step(Input::Request {
            now: self.now,
            client: client.clone(),
            id: frame.id,
            msg: frame.msg,
        })
    }

    /// Starts a new operation: forgets the frames of the last one.
    fn begin(&mut self) {
        for v in self.views.values_mut() {
            v.frames.clear();
        }
    }

    /// The family is consistent, and every client's list equals the family's.
    fn assert_lists_agree(&self) {
        self.family.check_invariants().expect("invariants");
        let truth: BTreeMap<ClientId, UserInfo> = self
            .family
            .users()
            .into_iter()
            .map(|u| (u.client_id.clone(), u))
            .collect();
        for (c, v) in &self.views {
            assert!(
                v.users == truth,
                "{c}'s user list differs from the family's"
            );
        }
    }
}

#[test]
fn a_wave_of_500_costs_one_presence_frame_per_recipient_per_operation() {
    let mut class = Class::new();
    let teacher = class.connect("teacher", Role::Moderator, 2);
    // An old app: protocol 1 keeps its per-user frames.
    let old = class.connect("old-assistant", Role::Moderator, 1);

    // A crowd connecting: one frame per arrival for everyone already there.
    let mut pupils = Vec::new();
    for i in 0..PARTICIPANTS {
        class.begin();
        pupils.push(class.connect(&format!("p{i:03}"), Role::Participant, 2));
        for c in [&teacher, &old] {
            let v = &class.views[c];
            assert_eq!(v.count(V1_PRESENCE) + v.count(&["usersUpdated"]), 1);
        }
    }
    assert_eq!(class.views[&teacher].users.len(), PARTICIPANTS + 2);
    class.assert_lists_agree();

    // The wave: 500 forced into 50 rooms in one request.
    class.begin();
    let sends = class.request(
        &teacher,
        &format!(
            r#""type":"createAndInviteBreakoutRoom","participants":10,"audio":true,"video":false,"canvas":false,"share":false,"max_rooms":{ROOMS},"force_join":true"#
        ),
    );
    let mut everyone = pupils.clone();
    everyone.push(teacher.clone());
    for c in &everyone {
        let v = &class.views[c];
        assert_eq!(
            v.count(&["usersUpdated"]),
            PRESENCE_FRAMES_PER_OPERATION,
            "{c}"
        );
        assert_eq!(v.count(V1_PRESENCE), 0, "{c}");
        // The batch comes after everything else the request caused this client.
        assert_eq!(
            v.frames.last().map(ServerMessage::type_name),
            Some("usersUpdated")
        );
    }
    for p in &pupils {
        // The seed's callbacks to the clients the operation concerns are unchanged.
        let v = &class.views[p];
        assert_eq!(v.count(&["invitationForBreakoutRoom"]), 1);
        assert_eq!(v.count(&["connectedBreakoutRoom"]), 1);
        let me = &v.users[p];
        assert!(matches!(me.location, Location::Breakout(_)) && me.paused);
    }
    let ServerMessage::UsersUpdated(batch) = class.views[&teacher].frames.last().unwrap() else {
        unreachable!()
    };
    assert_eq!(batch.users.len(), PARTICIPANTS);
    // Protocol 1 still hears every move and pause, one frame each.
    assert_eq!(class.views[&old].count(&["userMoved"]), PARTICIPANTS);
    assert_eq!(class.views[&old].count(&["userPaused"]), PARTICIPANTS);
    // The whole operation: linear in the class (seed callbacks included), the old app's
    // 1,000 frames included.
    assert!(sends <= 12 * PARTICIPANTS, "{sends} frames for one wave");
    class.assert_lists_agree();

    // Destroy all: everyone back, in one batch.
    class.begin();
    class.request(&teacher, r#""type":"destroyAllBreakOutSession""#);
    for c in &everyone {
        let v = &class.views[c];
        assert_eq!(
            v.count(&["usersUpdated"]),
            PRESENCE_FRAMES_PER_OPERATION,
            "{c}"
        );
        assert_eq!(v.count(V1_PRESENCE), 0, "{c}");
    }
    for p in &pupils {
        assert_eq!(class.views[p].count(&["didDisconnectedBreakoutRoom"]), 1);
    }
    assert!(class
        .family
        .users()
        .iter()
        .all(|u| u.location == Location::Parent && !u.paused));
    class.assert_lists_agree();

    // A second wave, left one by one with clear-all: one frame per leave.
    class.request(
        &teacher,
        &format!(
            r#""type":"createAndInviteBreakoutRoom","participants":10,"audio":true,"video":false,"canvas":false,"share":false,"max_rooms":{ROOMS},"force_join":true"#
        ),
    );
    for p in pupils.clone() {
        class.begin();
        class.request(&p, r#""type":"clearAllBreakOutSession""#);
        for c in [&teacher, &pupils[0]] {
            assert!(class.views[c].count(&["usersUpdated"]) <= PRESENCE_FRAMES_PER_OPERATION);
        }
        // The leaver's ack comes before the presence its leave caused.
        let mine = &class.views[&p].frames;
        assert_eq!(mine[0].type_name(), "didDisconnectedBreakoutRoom");
    }
    class.assert_lists_agree();

    // And a crowd leaving.
    for p in &pupils[..100] {
        class.begin();
        class.now += Duration::from_millis(1);
        let now = class.now;
        class.step(Input::Disconnected {
            now,
            client: p.clone(),
        });
        assert_eq!(class.views[&teacher].count(&["usersUpdated"]), 1);
        assert_eq!(class.views[&old].count(&["userDisconnected"]), 1);
    }
    // Those who left stop listening.
    for p in &pupils[..100] {
        class.views.remove(p);
    }
    class.assert_lists_agree();
    assert_eq!(class.family.users().len(), PARTICIPANTS - 100 + 2);
}
