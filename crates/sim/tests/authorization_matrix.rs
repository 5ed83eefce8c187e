//! The authorization matrix: every break-out operation (and `startShare` / `startCanvas`) ×
//! the caller's role (viewer, participant, moderator, the target break-out room's owner) × the
//! caller's place (in the parent without an invitation, in the parent with an invitation to
//! the target room, inside the target room), with the exact `result` code expected in each
//! cell.
//!
//! The expectations in [`EXPECTED`] are written from SPEC §3 ("who may call" and the
//! preconditions), completed by the decisions documented in `docs/breakouts.md` §4 and the
//! codes of `docs/errors.md` where SPEC names no code. Every cell runs in a fresh world, so
//! cells are independent. The table is also printed and must equal the section
//! "Authorization matrix" of `docs/errors.md` (run with `ALCOVE_BLESS=1` to rewrite that
//! section after changing [`EXPECTED`]).
//!
//! A cell where the core answers otherwise than SPEC keeps SPEC's expectation and is listed in
//! [`CORE_DEVIATIONS`] with what the core answers and why; `matrix_matches_the_core` checks
//! that the core still deviates exactly so (a fixed core makes it fail, so the entry gets
//! removed), and `matrix_matches_spec_strictly` fails on any deviation: while the list is empty
//! (the core follows SPEC in every cell) both run, and a new entry makes the strict test fail
//! until the core is fixed.
//!
//! `World::request` accepts only the break-out requests (its `ack_types` has no media acks),
//! so the `startShare` / `startCanvas` cells run on [`Bare`], a minimal driver of the family's
//! run-loop contract with the same checks that matter here (exactly one acknowledgement, to
//! the caller, with its id; `check_invariants` after every step). The other cells run on both
//! and must agree, which keeps [`Bare`] honest.

use alcove_core::{Family, FamilyConfig, Input, NewClient, Output};
use alcove_proto::api::RoomSettings;
use alcove_proto::signal::{
    ClientMessage, JoinRole, Role, RoomDefinition, ServerFrame, ServerMessage,
};
use alcove_proto::{ClientId, RequestId, RoomId};
use alcove_sim::{req, World};
use std::fmt::Write as _;
use std::time::Instant;

// ----- the dimensions -----

/// The operations, in table order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Create,
    CreateAndInvite,
    Invite,
    JoinAsParticipant,
    JoinAsModerator,
    Reject,
    Pause,
    Resume,
    Mute,
    Unmute,
    Disconnect,
    ClearAll,
    DestroyAll,
    StartShare,
    StartCanvas,
}

impl Op {
    const ALL: [Op; 15] = [
        Op::Create,
        Op::CreateAndInvite,
        Op::Invite,
        Op::JoinAsParticipant,
        Op::JoinAsModerator,
        Op::Reject,
        Op::Pause,
        Op::Resume,
        Op::Mute,
        Op::Unmute,
        Op::Disconnect,
        Op::ClearAll,
        Op::DestroyAll,
        Op::StartShare,
        Op::StartCanvas,
    ];

    /// How the table names the request.
    fn label(self) -> &'static str {
        match self {
            Op::Create => "`createBreakOutRoom`",
            Op::CreateAndInvite => "`createAndInviteBreakoutRoom`",
            Op::Invite => "`inviteToBreakOutRoom` (Pat)",
            Op::JoinAsParticipant => "`joinBreakoutRoom` as `participant`",
            Op::JoinAsModerator => "`joinBreakoutRoom` as `moderator`",
            Op::Reject => "`rejectBreakOutRoom`",
            Op::Pause => "`pause`",
            Op::Resume => "`resume`",
            Op::Mute => "`muteRoom` (audio)",
            Op::Unmute => "`unmuteRoom` (audio)",
            Op::Disconnect => "`disconnect` (BR handle)",
            Op::ClearAll => "`clearAllBreakOutSession`",
            Op::DestroyAll => "`destroyAllBreakOutSession`",
            Op::StartShare => "`startShare`",
            Op::StartCanvas => "`startCanvas`",
        }
    }

    /// The request, naming the target room `b` and the bystander `pat` where it names any.
    fn message(self, b: &RoomId, pat: &ClientId) -> ClientMessage {
        match self {
            Op::Create => req::create(2, 1),
            Op::CreateAndInvite => req::create_and_invite(2, 1, false),
            Op::Invite => req::invite(b, &[pat], false),
            Op::JoinAsParticipant => req::join(b, JoinRole::Participant),
            Op::JoinAsModerator => req::join(b, JoinRole::Moderator),
            Op::Reject => req::reject(b),
            Op::Pause => ClientMessage::Pause,
            Op::Resume => ClientMessage::Resume,
            Op::Mute => req::mute(true, false),
            Op::Unmute => req::unmute(true, false),
            Op::Disconnect => req::disconnect(b),
            Op::ClearAll => ClientMessage::ClearAllBreakOutSession,
            Op::DestroyAll => ClientMessage::DestroyAllBreakOutSession,
            Op::StartShare => ClientMessage::StartShare,
            Op::StartCanvas => ClientMessage::StartCanvas,
        }
    }

    /// Whether `World::request` can send it (its `ack_types` lacks the media acks).
    fn world_can_send(self) -> bool {
        !matches!(self, Op::StartShare | Op::StartCanvas)
    }
}

/// The caller's role. `Owner` is a participant who created the target room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Viewer,
    Participant,
    Moderator,
    Owner,
}

impl Caller {
    const ALL: [Caller; 4] = [
        Caller::Viewer,
        Caller::Participant,
        Caller::Moderator,
        Caller::Owner,
    ];

    fn label(self) -> &'static str {
        match self {
            Caller::Viewer => "viewer",
            Caller::Participant => "participant",
            Caller::Moderator => "moderator",
            Caller::Owner => "B's owner",
        }
    }
}

/// Where the caller is when it sends the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// In the parent, holding no invitation.
    Parent,
    /// In the parent, holding an invitation to B (from the moderator Mia).
    Invited,
    /// Inside B (a moderator joined as `moderator`, anyone else invited and joined as
    /// `participant`).
    InB,
}

impl Place {
    const ALL: [Place; 3] = [Place::Parent, Place::Invited, Place::InB];
}

// ----- the expectations (SPEC §3 + docs/breakouts.md §4 + docs/errors.md) -----

/// Per operation, per caller (viewer, participant, moderator, owner), per place (parent,
/// parent with an invitation, inside B): the expected `result`.
///
/// * create / create-and-invite: "moderator or participant; never viewer" (5003, checked
///   first); "caller's location is parent" (5067). The definition is valid and B leaves room
///   under the limit of 10.
/// * invite: "the BR's owner or any moderator" (5003 otherwise); from anywhere (breakouts.md
///   "Invite from anywhere").
/// * join: "invited participant; any moderator (no invitation needed)"; "caller's location is
///   parent" (1739, checked before the invitation); no invitation 1737; `role: moderator`
///   only for a moderator (1742, checked after the invitation). An invited viewer joins as
///   `participant` (breakouts.md "Viewers may be invited and join as participant").
/// * reject: "an invitee" holding a pending invitation (1737 otherwise); joining consumed it.
/// * pause, resume, mute, unmute, clear all: "any client", in any location.
/// * disconnect (BR handle): "a member of the BR" (1741 otherwise).
/// * destroy all: "moderator only" (5003 otherwise), from any location.
/// * startShare / startCanvas: a viewer never publishes (5003, checked first); otherwise
///   allowed where the caller's current room enables it (1751 otherwise): the parent has the
///   default `screen_share: true, canvas: false`, B has `share: false, canvas: true`. No
///   client here negotiated media: the core does not ask for a session, so an allowed start
///   succeeds (0).
const EXPECTED: [(Op, [[i32; 3]; 4]); 15] = [
    (
        Op::Create,
        [[5003, 5003, 5003], [0, 0, 5067], [0, 0, 5067], [0, 0, 5067]],
    ),
    (
        Op::CreateAndInvite,
        [[5003, 5003, 5003], [0, 0, 5067], [0, 0, 5067], [0, 0, 5067]],
    ),
    (
        Op::Invite,
        [[5003, 5003, 5003], [5003, 5003, 5003], [0, 0, 0], [0, 0, 0]],
    ),
    (
        Op::JoinAsParticipant,
        [
            [1737, 0, 1739],
            [1737, 0, 1739],
            [0, 0, 1739],
            [1737, 0, 1739],
        ],
    ),
    (
        Op::JoinAsModerator,
        [
            [1737, 1742, 1739],
            [1737, 1742, 1739],
            [0, 0, 1739],
            [1737, 1742, 1739],
        ],
    ),
    (
        Op::Reject,
        [
            [1737, 0, 1737],
            [1737, 0, 1737],
            [1737, 0, 1737],
            [1737, 0, 1737],
        ],
    ),
    (Op::Pause, [[0, 0, 0], [0, 0, 0], [0, 0, 0], [0, 0, 0]]),
    (Op::Resume, [[0, 0, 0], [0, 0, 0], [0, 0, 0], [0, 0, 0]]),
    (Op::Mute, [[0, 0, 0], [0, 0, 0], [0, 0, 0], [0, 0, 0]]),
    (Op::Unmute, [[0, 0, 0], [0, 0, 0], [0, 0, 0], [0, 0, 0]]),
    (
        Op::Disconnect,
        [
            [1741, 1741, 0],
            [1741, 1741, 0],
            [1741, 1741, 0],
            [1741, 1741, 0],
        ],
    ),
    (Op::ClearAll, [[0, 0, 0], [0, 0, 0], [0, 0, 0], [0, 0, 0]]),
    (
        Op::DestroyAll,
        [
            [5003, 5003, 5003],
            [5003, 5003, 5003],
            [0, 0, 0],
            [5003, 5003, 5003],
        ],
    ),
    (
        Op::StartShare,
        [[5003, 5003, 5003], [0, 0, 1751], [0, 0, 1751], [0, 0, 1751]],
    ),
    (
        Op::StartCanvas,
        [
            [5003, 5003, 5003],
            [1751, 1751, 0],
            [1751, 1751, 0],
            [1751, 1751, 0],
        ],
    ),
];

/// Cells where the core answers otherwise than SPEC: (operation, caller, place, the core's
/// answer, why). Empty: the core agrees with SPEC in every cell.
const CORE_DEVIATIONS: &[(Op, Caller, Place, i32, &str)] = &[];

fn expected(op: Op, caller: Caller, place: Place) -> i32 {
    let row = EXPECTED
        .iter()
        .find(|(o, _)| *o == op)
        .map(|(_, r)| r)
        .unwrap_or_else(|| panic!("no row for {op:?}"));
    let c = Caller::ALL.iter().position(|x| *x == caller).unwrap_or(0);
    let p = Place::ALL.iter().position(|x| *x == place).unwrap_or(0);
    row[c][p]
}

fn deviation(op: Op, caller: Caller, place: Place) -> Option<(i32, &'static str)> {
    CORE_DEVIATIONS
        .iter()
        .find(|(o, c, p, _, _)| (*o, *c, *p) == (op, caller, place))
        .map(|(_, _, _, code, why)| (*code, *why))
}

// ----- the drivers -----

/// What a cell needs from a driver: admit a client, send one request and get its ack.
trait Driver {
    fn join_family(&mut self, name: &str, role: Role) -> ClientId;
    fn send(&mut self, client: &ClientId, msg: ClientMessage) -> ServerFrame;
}

impl Driver for World {
    fn join_family(&mut self, name: &str, role: Role) -> ClientId {
        self.connect(name, role)
    }

    fn send(&mut self, client: &ClientId, msg: ClientMessage) -> ServerFrame {
        self.request(client, msg)
    }
}

/// A bare family driven through its run-loop contract, for the requests `World` does not
/// send. After every input: `check_invariants`; every acknowledgement goes to the requester
/// and carries its id; a request gets exactly one.
struct Bare {
    family: Family,
    now: Instant,
    next_client: u32,
    next_request: u64,
}

impl Bare {
    fn new() -> Bare {
        let now = Instant::now();
        let config = FamilyConfig::new(
            RoomId::from("parent"),
            "Matrix room",
            RoomSettings::default(),
            1,
        );
        let mut b = Bare {
            family: Family::new(config, now),
            now,
            next_client: 1,
            next_request: 1,
        };
        b.drain();
        b
    }

    /// Acknowledgements (frames with an id) sent while draining, with their recipients.
    fn drain(&mut self) -> Vec<(ClientId, ServerFrame)> {
        let mut acks = Vec::new();
        loop {
            match self.family.poll_output() {
                Output::Send { to, frame } if frame.id.is_some() => acks.push((to, frame)),
                Output::Timeout(_) => break,
                _ => {}
            }
        }
        if let Err(e) = self.family.check_invariants() {
            panic!("family invariant broken: {e}");
        }
        acks
    }

    fn ack_of(&mut self, client: &ClientId, id: RequestId, what: &str) -> ServerFrame {
        let mut acks = self.drain();
        assert_eq!(acks.len(), 1, "{what} of {client}: {acks:?}");
        let (to, ack) = acks.remove(0);
        assert!(&to == client && ack.id == Some(id), "{what}: {ack:?}");
        ack
    }
}

impl Driver for Bare {
    fn join_family(&mut self, name: &str, role: Role) -> ClientId {
        let client = ClientId(format!("c{:03}", self.next_client));
        self.next_client += 1;
        let id = RequestId(self.next_request);
        self.next_request += 1;
        self.family.handle_input(Input::Connect {
            now: self.now,
            client: client.clone(),
            id,
            user: NewClient::new(name, role),
            version: 1,
        });
        let ack = self.ack_of(&client, id, "connect");
        assert!(
            matches!(ack.msg, ServerMessage::RoomConnected(_)),
            "{ack:?}"
        );
        client
    }

    fn send(&mut self, client: &ClientId, msg: ClientMessage) -> ServerFrame {
        let id = RequestId(self.next_request);
        self.next_request += 1;
        let ty = msg.type_name();
        self.family.handle_input(Input::Request {
            now: self.now,
            client: client.clone(),
            id,
            msg,
        });
        self.ack_of(client, id, ty)
    }
}

// ----- one cell -----

/// B's definition: three places, no screen share, canvas.
fn b_definition() -> ClientMessage {
    let def = RoomDefinition {
        participants: 3,
        audio: true,
        video: false,
        canvas: true,
        share: false,
        max_rooms: 1,
        force_join: false,
        ..RoomDefinition::default()
    };
    ClientMessage::CreateBreakOutRoom(def.to_input())
}

fn ok(ack: &ServerFrame, what: &str) {
    assert_eq!(req::result(ack), 0, "set-up step {what} failed: {ack:?}");
}

/// Sets up the cell's family on `d` and sends the operation; returns the ack's `result`.
///
/// Cast: Mia (moderator), Olga (participant, creates B), Pat (participant, stays in the
/// parent: the invitee of `inviteToBreakOutRoom`), and the caller (Olga herself when the
/// caller is the owner).
fn run_cell<D: Driver>(d: &mut D, op: Op, caller: Caller, place: Place) -> i32 {
    let mia = d.join_family("Mia", Role::Moderator);
    let olga = d.join_family("Olga", Role::Participant);
    let pat = d.join_family("Pat", Role::Participant);
    let actor = match caller {
        Caller::Viewer => d.join_family("Vic", Role::Viewer),
        Caller::Participant => d.join_family("Pia", Role::Participant),
        Caller::Moderator => d.join_family("Max", Role::Moderator),
        Caller::Owner => olga.clone(),
    };
    let created = d.send(&olga, b_definition());
    ok(&created, "create B");
    let b = req::rooms(&created).remove(0);
    match (place, caller) {
        (Place::Parent, _) => {}
        (Place::Invited, _) => ok(&d.send(&mia, req::invite(&b, &[&actor], false)), "invite"),
        (Place::InB, Caller::Moderator) => {
            ok(&d.send(&actor, req::join(&b, JoinRole::Moderator)), "join")
        }
        (Place::InB, _) => {
            ok(&d.send(&mia, req::invite(&b, &[&actor], false)), "invite");
            let joined = d.send(&actor, req::join(&b, JoinRole::Participant));
            assert!(
                matches!(joined.msg, ServerMessage::ConnectedBreakoutRoom(_)),
                "set-up join failed: {joined:?}"
            );
        }
    }
    let ack = d.send(&actor, op.message(&b, &pat));
    req::result(&ack)
}

/// The core's answer in one cell, from a fresh family (on `World` where it can, and then
/// also on `Bare`, which must agree).
fn observe(op: Op, caller: Caller, place: Place) -> i32 {
    let bare = run_cell(&mut Bare::new(), op, caller, place);
    if op.world_can_send() {
        let world = run_cell(&mut World::with_defaults(1), op, caller, place);
        assert_eq!(
            world, bare,
            "{op:?} by {caller:?} in {place:?}: World and Bare disagree"
        );
    }
    bare
}

// ----- the table as text -----

fn cell_text(op: Op, caller: Caller) -> String {
    Place::ALL
        .iter()
        .map(|p| match deviation(op, caller, *p) {
            Some((core, _)) => format!("{}†{core}", expected(op, caller, *p)),
            None => expected(op, caller, *p).to_string(),
        })
        .collect::<Vec<_>>()
        .join(" / ")
}

/// The section of docs/errors.md, generated from [`EXPECTED`] and [`CORE_DEVIATIONS`].
fn markdown() -> String {
    let mut s = String::new();
    s.push_str(
        "## Authorization matrix\n\
         \n\
         Who may call what, from where: the `result` of the acknowledgement in every cell. The\n\
         table is checked against the core by `crates/sim/tests/authorization_matrix.rs`, which\n\
         generates this section (`ALCOVE_BLESS=1 cargo test -p alcove-sim --test\n\
         authorization_matrix` rewrites it). The expectations come from SPEC §3 (who may call,\n\
         preconditions), with the codes above and the decisions of\n\
         [breakouts.md §4](breakouts.md#4-decisions-where-spec-and-seed-are-silent).\n\
         \n\
         Each cell is a fresh family with default settings (group mode; parent `screen_share`\n\
         on, `canvas` off) and: Mia (moderator); Olga (participant), who created the break-out\n\
         room B (`participants: 3, share: false, canvas: true`); Pat (participant, in the\n\
         parent); and the caller. *B's owner* is Olga herself. Requests name B; the invite\n\
         invites Pat; mute and unmute set `audio`; create is a valid definition. Nobody\n\
         negotiated media.\n\
         \n\
         A cell reads **in the parent / in the parent, invited to B / inside B**. An invitation\n\
         comes from Mia. Inside B, a moderator joined as `moderator` and anyone else was\n\
         invited and joined as `participant` (which used up the invitation).\n",
    );
    if !CORE_DEVIATIONS.is_empty() {
        s.push_str(
            "`X†Y`: SPEC expects `X`, the core answers `Y` (a known deviation, listed in the\n\
             test).\n",
        );
    }
    s.push('\n');
    s.push_str("| operation |");
    for c in Caller::ALL {
        let _ = write!(s, " {} |", c.label());
    }
    s.push_str("\n|---|");
    for _ in Caller::ALL {
        s.push_str("---|");
    }
    s.push('\n');
    for op in Op::ALL {
        let _ = write!(s, "| {} |", op.label());
        for c in Caller::ALL {
            let _ = write!(s, " {} |", cell_text(op, c));
        }
        s.push('\n');
    }
    s.push_str(
        "\nWhy, in short: creating needs a non-viewer in the parent (5003, then 5067); only B's\n\
         owner or a moderator invites (5003); joining the room one is in is 1739 (from another\n\
         room it is a one-step switch), then an invitation unless the caller is a moderator\n\
         (1737), and `role: moderator` only for a\n\
         moderator (1742), so an invited viewer joins as a participant; rejecting needs a\n\
         pending invitation (1737); `disconnect` needs membership of B (1741); only a moderator\n\
         destroys all (5003); a viewer never publishes (5003), and share or canvas must be\n\
         enabled in the caller's current room (1751). Pause, resume, mute, unmute and clear all\n\
         succeed for everyone, everywhere.\n",
    );
    s.push('\n');
    s.push_str(&facilitation_markdown());
    s
}

/// The "Authorization matrix" section of docs/errors.md as checked in (up to the next `## `
/// heading or the end).
fn docs_section(doc: &str) -> Option<&str> {
    let start = doc.find("\n## Authorization matrix\n")? + 1;
    let rest = &doc[start..];
    let end = rest[3..].find("\n## ").map(|i| i + 4).unwrap_or(rest.len());
    Some(&rest[..end])
}

const DOCS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/errors.md");

// ----- the tests -----

#[test]
fn matrix_matches_the_core() {
    let mut wrong = Vec::new();
    let mut stale = Vec::new();
    for op in Op::ALL {
        for caller in Caller::ALL {
            for place in Place::ALL {
                let got = observe(op, caller, place);
                let want = expected(op, caller, place);
                match deviation(op, caller, place) {
                    None if got != want => wrong.push(format!(
                        "{op:?} by {caller:?} ({place:?}): SPEC expects {want}, the core answers {got}"
                    )),
                    Some((core, why)) if got != core => stale.push(format!(
                        "{op:?} by {caller:?} ({place:?}): listed as answering {core} ({why}), \
                         the core answers {got}{}",
                        if got == want { ": fixed, remove the entry" } else { "" }
                    )),
                    _ => {}
                }
            }
        }
    }
    println!("{}", markdown());
    assert!(
        wrong.is_empty() && stale.is_empty(),
        "the core disagrees with the matrix:\n{}\n{}",
        wrong.join("\n"),
        stale.join("\n")
    );
}

/// Fails on every cell where the core deviates from SPEC (the known ones included).
#[test]
fn matrix_matches_spec_strictly() {
    for op in Op::ALL {
        for caller in Caller::ALL {
            for place in Place::ALL {
                assert_eq!(
                    observe(op, caller, place),
                    expected(op, caller, place),
                    "{op:?} by {caller:?} ({place:?})"
                );
            }
        }
    }
}

#[test]
fn docs_carry_the_matrix() {
    let table = markdown();
    let doc = std::fs::read_to_string(DOCS).expect("docs/errors.md");
    if std::env::var_os("ALCOVE_BLESS").is_some() {
        let updated = match docs_section(&doc) {
            Some(old) => doc.replacen(old, &table, 1),
            None => format!("{}\n{table}", doc.trim_end_matches('\n').to_owned() + "\n"),
        };
        std::fs::write(DOCS, updated).expect("write docs/errors.md");
        return;
    }
    let section = docs_section(&doc).unwrap_or_else(|| {
        panic!("docs/errors.md has no \"## Authorization matrix\" section; it should be:\n{table}")
    });
    assert_eq!(
        section.trim_end(),
        table.trim_end(),
        "docs/errors.md's authorization matrix is stale (ALCOVE_BLESS=1 rewrites it)"
    );
}

// ----- issues 10 and 11: the facilitation and listen-in operations -----
//
// Same callers and places as above, on `World` (plan requests need the shell, which `World`
// plays; `Bare` has none). The cast adds Rhea (participant, inside B, with a pending help
// request: the target of `dismissHelp`) and S (a second room, self-select, where nobody is).
// Pat (participant, in the parent) is the target of `moveToBreakoutRoom`, `muteMember` and
// `askToUnmute`. The shell holds a plan "Stored" (one room of two places, member "Pat").
// This table is part of docs/errors.md's "Authorization matrix" section (`docs_carry_the_matrix`).

/// The facilitation operations, in table order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FOp {
    SetDuration,
    Broadcast,
    RequestHelp,
    CancelHelp,
    DismissHelp,
    Move,
    JoinSelfSelect,
    SetSelfSelect,
    Rename,
    SavePlan,
    ListPlans,
    ApplyPlan,
    MuteMember,
    MuteRoomMembers,
    AskToUnmute,
    UnmuteSelf,
    ListenTo,
    TalkTo,
    StopListening,
    StartBroadcast,
    StopBroadcast,
}

impl FOp {
    const ALL: [FOp; 21] = [
        FOp::SetDuration,
        FOp::Broadcast,
        FOp::RequestHelp,
        FOp::CancelHelp,
        FOp::DismissHelp,
        FOp::Move,
        FOp::JoinSelfSelect,
        FOp::SetSelfSelect,
        FOp::Rename,
        FOp::SavePlan,
        FOp::ListPlans,
        FOp::ApplyPlan,
        FOp::MuteMember,
        FOp::MuteRoomMembers,
        FOp::AskToUnmute,
        FOp::UnmuteSelf,
        FOp::ListenTo,
        FOp::TalkTo,
        FOp::StopListening,
        FOp::StartBroadcast,
        FOp::StopBroadcast,
    ];

    fn label(self) -> &'static str {
        match self {
            FOp::SetDuration => "`setBreakoutDuration` (B, 60 s)",
            FOp::Broadcast => "`broadcastMessage` (all rooms)",
            FOp::RequestHelp => "`requestHelp`",
            FOp::CancelHelp => "`cancelHelp` (none pending)",
            FOp::DismissHelp => "`dismissHelp` (Rhea)",
            FOp::Move => "`moveToBreakoutRoom` (Pat → B)",
            FOp::JoinSelfSelect => "`joinBreakoutRoom` S (self-select) as `participant`",
            FOp::SetSelfSelect => "`setSelfSelect` (B, on)",
            FOp::Rename => "`renameBreakoutRoom` (B)",
            FOp::SavePlan => "`savePlan`",
            FOp::ListPlans => "`listPlans`",
            FOp::ApplyPlan => "`applyPlan` (\"Stored\")",
            FOp::MuteMember => "`muteMember` (Pat)",
            FOp::MuteRoomMembers => "`muteMember` (room B)",
            FOp::AskToUnmute => "`askToUnmute` (Pat)",
            FOp::UnmuteSelf => "`unmuteSelf` (not muted)",
            FOp::ListenTo => "`listenTo` (B)",
            FOp::TalkTo => "`talkTo` (B, not listening)",
            FOp::StopListening => "`stopListening` (not listening)",
            FOp::StartBroadcast => "`startBroadcast` (all rooms)",
            FOp::StopBroadcast => "`stopBroadcast` (none running)",
        }
    }

    fn message(self, b: &RoomId, s: &RoomId, pat: &ClientId, rhea: &ClientId) -> ClientMessage {
        match self {
            FOp::SetDuration => req::set_duration(b, Some(60), None),
            FOp::Broadcast => req::broadcast("hello", None),
            FOp::RequestHelp => req::request_help(),
            FOp::CancelHelp => req::cancel_help(),
            FOp::DismissHelp => req::dismiss_help(rhea),
            FOp::Move => req::move_to(pat, b),
            FOp::JoinSelfSelect => req::join(s, JoinRole::Participant),
            FOp::SetSelfSelect => req::set_self_select(Some(b), true),
            FOp::Rename => req::rename(b, "Renamed"),
            FOp::SavePlan => req::save_plan("Saved"),
            FOp::ListPlans => req::list_plans(),
            FOp::ApplyPlan => req::apply_plan("Stored", false),
            FOp::MuteMember => req::mute_member(pat),
            FOp::MuteRoomMembers => req::mute_room_members(b),
            FOp::AskToUnmute => req::ask_to_unmute(pat),
            FOp::UnmuteSelf => req::unmute_self(),
            FOp::ListenTo => ClientMessage::ListenTo(alcove_proto::signal::ListenTo {
                room_id: b.clone(),
                parent: alcove_proto::signal::ParentWhileListening::Mixed,
            }),
            FOp::TalkTo => ClientMessage::TalkTo(alcove_proto::signal::TalkTo {
                room_id: b.clone(),
                on: true,
                parent: true,
            }),
            FOp::StopListening => ClientMessage::StopListening,
            FOp::StartBroadcast => ClientMessage::StartBroadcast(Default::default()),
            FOp::StopBroadcast => ClientMessage::StopBroadcast,
        }
    }
}

/// Moderators only, anywhere: 5003 for everyone else.
const MOD_ONLY: [[i32; 3]; 4] = [
    [5003, 5003, 5003],
    [5003, 5003, 5003],
    [0, 0, 0],
    [5003, 5003, 5003],
];

/// Listen-in, talk-in and broadcast (issue 11): moderators only (5003 first), from the parent
/// only (1765); `talkTo` needs listening to that room (1764); stopping is always acknowledged.
const FROM_PARENT: [[i32; 3]; 4] = [
    [5003, 5003, 5003],
    [5003, 5003, 5003],
    [0, 0, 1765],
    [5003, 5003, 5003],
];

/// Per facilitation operation, per caller (viewer, participant, moderator, owner), per place
/// (parent, parent with an invitation to B, inside B), from docs/helpers' issue-10 rules:
///
/// * timers, broadcast, dismiss, move, self-select, rename, plans, mute, ask: moderators only
///   (5003 first); `applyPlan` then runs create's checks (a caller inside a room: 5067).
/// * `requestHelp`: anyone inside a break-out room (1741 elsewhere); `cancelHelp` with nothing
///   pending: 1760; `unmuteSelf` when not muted by a moderator: 0 for anyone.
/// * joining a self-select room: any participant (and any moderator) without an invitation,
///   from the parent or from another room (a one-step switch); a viewer still needs an
///   invitation (1737).
/// * listen-in, talk-in, broadcast (issue 11): see [`FROM_PARENT`].
const F_EXPECTED: [(FOp, [[i32; 3]; 4]); 21] = [
    (FOp::SetDuration, MOD_ONLY),
    (FOp::Broadcast, MOD_ONLY),
    (
        FOp::RequestHelp,
        [
            [1741, 1741, 0],
            [1741, 1741, 0],
            [1741, 1741, 0],
            [1741, 1741, 0],
        ],
    ),
    (
        FOp::CancelHelp,
        [
            [1760, 1760, 1760],
            [1760, 1760, 1760],
            [1760, 1760, 1760],
            [1760, 1760, 1760],
        ],
    ),
    (FOp::DismissHelp, MOD_ONLY),
    (FOp::Move, MOD_ONLY),
    (
        FOp::JoinSelfSelect,
        [[1737, 1737, 1737], [0, 0, 0], [0, 0, 0], [0, 0, 0]],
    ),
    (FOp::SetSelfSelect, MOD_ONLY),
    (FOp::Rename, MOD_ONLY),
    (FOp::SavePlan, MOD_ONLY),
    (FOp::ListPlans, MOD_ONLY),
    (
        FOp::ApplyPlan,
        [
            [5003, 5003, 5003],
            [5003, 5003, 5003],
            [0, 0, 5067],
            [5003, 5003, 5003],
        ],
    ),
    (FOp::MuteMember, MOD_ONLY),
    (FOp::MuteRoomMembers, MOD_ONLY),
    (FOp::AskToUnmute, MOD_ONLY),
    (
        FOp::UnmuteSelf,
        [[0, 0, 0], [0, 0, 0], [0, 0, 0], [0, 0, 0]],
    ),
    (FOp::ListenTo, FROM_PARENT),
    (
        FOp::TalkTo,
        [
            [5003, 5003, 5003],
            [5003, 5003, 5003],
            [1764, 1764, 1765],
            [5003, 5003, 5003],
        ],
    ),
    (
        FOp::StopListening,
        [[0, 0, 0], [0, 0, 0], [0, 0, 0], [0, 0, 0]],
    ),
    (FOp::StartBroadcast, FROM_PARENT),
    (
        FOp::StopBroadcast,
        [[0, 0, 0], [0, 0, 0], [0, 0, 0], [0, 0, 0]],
    ),
];

fn f_expected(op: FOp, caller: Caller, place: Place) -> i32 {
    let row = F_EXPECTED
        .iter()
        .find(|(o, _)| *o == op)
        .map(|(_, r)| r)
        .unwrap_or_else(|| panic!("no row for {op:?}"));
    let c = Caller::ALL.iter().position(|x| *x == caller).unwrap_or(0);
    let p = Place::ALL.iter().position(|x| *x == place).unwrap_or(0);
    row[c][p]
}

/// One facilitation cell in a fresh world; returns the ack's `result`.
fn run_facilitation_cell(op: FOp, caller: Caller, place: Place) -> i32 {
    let mut w = World::with_defaults(1);
    w.store_plan(alcove_proto::signal::Plan {
        name: "Stored".into(),
        rooms: vec![alcove_proto::signal::PlanRoom {
            name: "P1".into(),
            participants: 2,
            canvas: false,
            share: false,
            duration: None,
            self_select: false,
            members: vec!["Pat".into()],
        }],
    });
    let mia = w.connect("Mia", Role::Moderator);
    let olga = w.connect("Olga", Role::Participant);
    let pat = w.connect("Pat", Role::Participant);
    let rhea = w.connect("Rhea", Role::Participant);
    let actor = match caller {
        Caller::Viewer => w.connect("Vic", Role::Viewer),
        Caller::Participant => w.connect("Pia", Role::Participant),
        Caller::Moderator => w.connect("Max", Role::Moderator),
        Caller::Owner => olga.clone(),
    };
    let created = w.request(&olga, b_definition());
    ok(&created, "create B");
    let b = req::rooms(&created).remove(0);
    let s_def = RoomDefinition {
        self_select: true,
        ..req::definition(3, 1)
    };
    let created = w.request(&mia, req::create_with(s_def));
    ok(&created, "create S");
    let s = req::rooms(&created).remove(0);
    w.invite_and_join(&mia, &rhea, &b);
    ok(&w.request(&rhea, req::request_help()), "Rhea asks for help");
    match (place, caller) {
        (Place::Parent, _) => {}
        (Place::Invited, _) => ok(
            &w.request(&mia, req::invite(&b, &[&actor], false)),
            "invite",
        ),
        (Place::InB, Caller::Moderator) => {
            // Joining as a moderator answers Rhea's request: she asks again.
            ok(
                &w.request(&actor, req::join(&b, JoinRole::Moderator)),
                "join",
            );
            ok(&w.request(&rhea, req::request_help()), "Rhea asks again");
        }
        (Place::InB, _) => w.invite_and_join(&mia, &actor, &b),
    }
    w.clear_inboxes();
    let ack = w.request(&actor, op.message(&b, &s, &pat, &rhea));
    req::result(&ack)
}

fn facilitation_markdown() -> String {
    let mut s = String::from(
        "### Facilitation and listen-in operations (issues 10 and 11)\n\
         \n\
         Same cast and places, plus Rhea (participant inside B, with a pending help request),\n\
         a self-select room S, and a stored plan \"Stored\".\n\n| operation |",
    );
    for c in Caller::ALL {
        let _ = write!(s, " {} |", c.label());
    }
    s.push_str("\n|---|");
    for _ in Caller::ALL {
        s.push_str("---|");
    }
    s.push('\n');
    for op in FOp::ALL {
        let _ = write!(s, "| {} |", op.label());
        for c in Caller::ALL {
            let cells: Vec<String> = Place::ALL
                .iter()
                .map(|p| f_expected(op, c, *p).to_string())
                .collect();
            let _ = write!(s, " {} |", cells.join(" / "));
        }
        s.push('\n');
    }
    s
}

#[test]
fn facilitation_matrix_matches_the_core() {
    let mut wrong = Vec::new();
    for op in FOp::ALL {
        for caller in Caller::ALL {
            for place in Place::ALL {
                let got = run_facilitation_cell(op, caller, place);
                let want = f_expected(op, caller, place);
                if got != want {
                    wrong.push(format!(
                        "{op:?} by {caller:?} ({place:?}): expected {want}, the core answers {got}"
                    ));
                }
            }
        }
    }
    println!("{}", facilitation_markdown());
    assert!(
        wrong.is_empty(),
        "the core disagrees:\n{}",
        wrong.join("\n")
    );
}
