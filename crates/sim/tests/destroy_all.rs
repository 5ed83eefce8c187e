//! `destroyAllBreakOutSession()` (moderators only, see authorization.rs): every break-out room
//! is destroyed; every member returns to the parent, resumed and unmuted; every pending
//! invitation is withdrawn. Ack `{result:0, msg:{rooms}}`; `didDisconnectedBreakoutRoom
//! {room_id}` to each room's owner and each member moved back, exactly once each; no
//! `didDestroyedBreakoutRoom`.

use alcove_proto::signal::{
    AckDestroyAllBreakOutSession, BreakoutInvitationWithdrawn, ClientMessage,
    DidDisconnectedBreakoutRoom, JoinRole, LeaveReason, Location, Msg, Muted, Role, RoomList,
    ServerMessage, UserMoved, UserMuted, UserPaused, WithdrawReason,
};
use alcove_sim::{req, World};

#[test]
fn destroy_all_returns_everyone_resumed_and_unmuted() {
    let mut w = World::with_defaults(1);
    let mia = w.connect("Mia", Role::Moderator);
    let max = w.connect("Max", Role::Moderator);
    let olga = w.connect("Olga", Role::Participant);
    let pat = w.connect("Pat", Role::Participant);
    let quinn = w.connect("Quinn", Role::Participant);
    let ros = w.connect("Ros", Role::Participant);
    let mine = w.create_rooms(&mia, 3, 1).remove(0);
    let hers = w.create_rooms(&olga, 3, 1).remove(0);
    let empty = w.create_rooms(&max, 3, 1).remove(0);
    // Pat: in Mia's room, paused. Olga: in her own room, resumed and muted. Quinn: invited only.
    w.invite_and_join(&mia, &pat, &mine);
    w.invite_and_join(&olga, &olga, &hers);
    w.request(&olga, ClientMessage::Resume);
    w.request(&olga, req::mute(true, false));
    w.invite_to(&mia, &mine, &[&quinn]);
    w.invite_to(&max, &empty, &[&ros]);
    w.clear_inboxes();

    let ack = w.request(&max, ClientMessage::DestroyAllBreakOutSession);
    assert_eq!(
        ack.msg,
        ServerMessage::AckDestroyAllBreakOutSession(AckDestroyAllBreakOutSession {
            result: 0,
            msg: Msg::Data(RoomList {
                rooms: vec![mine.clone(), hers.clone(), empty.clone()]
            }),
        })
    );
    assert!(w.family().breakout_rooms().is_empty());
    for c in [&pat, &olga] {
        let u = w.user(c);
        assert_eq!(u.location, Location::Parent);
        assert!(!u.paused, "{c} resumed");
        assert_eq!(u.muted, Muted::default(), "{c} unmuted");
    }

    let n = w.drain_all();
    // Members are moved back (`destroyed`, now in the parent); an owner who was not inside
    // gets a notice that says where it is (it does not move).
    let disc = |r: &alcove_proto::RoomId| {
        ServerMessage::DidDisconnectedBreakoutRoom(DidDisconnectedBreakoutRoom::because(
            Some(r.clone()),
            LeaveReason::Destroyed,
            Location::Parent,
        ))
    };
    let notice = |r: &alcove_proto::RoomId| {
        ServerMessage::DidDisconnectedBreakoutRoom(DidDisconnectedBreakoutRoom::because(
            Some(r.clone()),
            LeaveReason::OwnerNotice,
            Location::Parent,
        ))
    };
    // Owners: Mia (not a member), Olga (a member: told once), Max (empty room).
    // Members moved back: Pat, Olga.
    n.assert_sent("didDisconnectedBreakoutRoom", &[&mia, &olga, &pat, &max]);
    assert_eq!(
        n.find(&mia, "didDisconnectedBreakoutRoom"),
        [&notice(&mine)]
    );
    assert_eq!(n.find(&pat, "didDisconnectedBreakoutRoom"), [&disc(&mine)]);
    assert_eq!(n.find(&olga, "didDisconnectedBreakoutRoom"), [&disc(&hers)]);
    assert_eq!(
        n.find(&max, "didDisconnectedBreakoutRoom"),
        [&notice(&empty)]
    );
    // Every other moderator (Mia; Max called) learns each of the three rooms is gone.
    n.assert_sent("didDestroyedBreakoutRoom", &[&mia, &mia, &mia]);
    n.assert_none("didUserDisconnectedFromBreakoutRoom");

    // Withdrawn invitations.
    n.assert_sent("breakoutInvitationWithdrawn", &[&quinn, &ros]);
    assert_eq!(
        n.find(&quinn, "breakoutInvitationWithdrawn"),
        [&ServerMessage::BreakoutInvitationWithdrawn(
            BreakoutInvitationWithdrawn {
                room_id: mine.clone(),
                reason: WithdrawReason::DestroyedAll,
            }
        )]
    );

    // Presence: both moves, Pat's and Olga's resume, Olga's unmute, to everyone else once.
    let moved = |c: &alcove_proto::ClientId| {
        ServerMessage::UserMoved(UserMoved {
            client_id: c.clone(),
            location: Location::Parent,
        })
    };
    assert_eq!(n.find(&quinn, "userMoved"), [&moved(&pat), &moved(&olga)]);
    assert_eq!(
        n.find(&quinn, "userPaused"),
        [&ServerMessage::UserPaused(UserPaused {
            client_id: pat.clone(),
            paused: false
        })],
        "Olga had resumed already"
    );
    assert_eq!(
        n.find(&mia, "userMuted"),
        [&ServerMessage::UserMuted(UserMuted {
            client_id: olga.clone(),
            muted: Muted::default()
        })]
    );
    n.assert_sent("userMuted", &[&mia, &max, &pat, &quinn, &ros]);
    n.assert_sent(
        "userMoved",
        &[
            &mia, &max, &quinn, &ros, &mia, &max, &quinn, &ros, &olga, &pat,
        ],
    );

    assert!(w.hears(&pat, &olga) && w.hears(&mia, &olga) && w.hears(&olga, &mia));
    assert_eq!(
        req::result(&w.request(&quinn, req::join(&mine, JoinRole::Participant))),
        1736
    );
}

#[test]
fn destroy_all_without_rooms_acks_an_empty_list() {
    let mut w = World::with_defaults(2);
    let mia = w.connect("Mia", Role::Moderator);
    let _pat = w.connect("Pat", Role::Participant);
    w.clear_inboxes();
    let ack = w.request(&mia, ClientMessage::DestroyAllBreakOutSession);
    assert_eq!(req::rooms(&ack), vec![]);
    assert!(w.drain_all().is_empty());
}

#[test]
fn a_moderator_inside_a_room_may_destroy_all_and_is_moved_back() {
    let mut w = World::with_defaults(3);
    let mia = w.connect("Mia", Role::Moderator);
    let room = w.create_rooms(&mia, 3, 1).remove(0);
    w.request(&mia, req::join(&room, JoinRole::Moderator));
    w.clear_inboxes();
    let ack = w.request(&mia, ClientMessage::DestroyAllBreakOutSession);
    assert_eq!(req::rooms(&ack), vec![room.clone()]);
    assert_eq!(w.location(&mia), Location::Parent);
    assert_eq!(
        w.notifications(&mia),
        [ServerMessage::DidDisconnectedBreakoutRoom(
            DidDisconnectedBreakoutRoom::because(
                Some(room),
                LeaveReason::Destroyed,
                Location::Parent
            )
        )],
        "owner and member: told once"
    );
}
