//! Who may do what: viewers never create (5003); a room setting may restrict creating to
//! moderators (5003 for participants); only the owner or a moderator may invite (5003); only a
//! moderator may destroy all (5003). A refused request changes nothing and tells nobody.

use alcove_proto::api::{BreakoutCreators, RoomSettings};
use alcove_proto::signal::{ClientMessage, Msg, Role, ServerMessage};
use alcove_sim::{req, World};

#[test]
fn a_viewer_cannot_create() {
    let mut w = World::with_defaults(1);
    let _mia = w.connect("Mia", Role::Moderator);
    let vic = w.connect("Vic", Role::Viewer);
    w.clear_inboxes();
    let ack = w.request(&vic, req::create(2, 1));
    assert!(
        matches!(&ack.msg, ServerMessage::AckCreateBreakOutRoom(a) if a.result == 5003 && matches!(a.msg, Msg::Text(_)))
    );
    assert_eq!(
        req::result(&w.request(&vic, req::create_and_invite(2, 1, false))),
        5003
    );
    assert!(w.live_rooms().is_empty());
    assert!(w.drain_all().is_empty());
}

#[test]
fn moderators_only_setting_refuses_participants() {
    let settings = RoomSettings {
        breakout_creators: BreakoutCreators::ModeratorsOnly,
        ..RoomSettings::default()
    };
    let mut w = World::new(settings, 2);
    let mia = w.connect("Mia", Role::Moderator);
    let pat = w.connect("Pat", Role::Participant);
    w.clear_inboxes();
    assert_eq!(req::result(&w.request(&pat, req::create(2, 1))), 5003);
    assert_eq!(
        req::result(&w.request(&pat, req::create_and_invite(2, 1, false))),
        5003
    );
    assert!(w.drain_all().is_empty());
    w.create_rooms(&mia, 2, 1);
}

#[test]
fn only_the_owner_or_a_moderator_may_invite() {
    let mut w = World::with_defaults(3);
    let mia = w.connect("Mia", Role::Moderator);
    let olga = w.connect("Olga", Role::Participant);
    let pat = w.connect("Pat", Role::Participant);
    let vic = w.connect("Vic", Role::Viewer);
    let hers = w.create_rooms(&olga, 2, 1).remove(0);
    let mine = w.create_rooms(&mia, 2, 1).remove(0);
    w.clear_inboxes();

    for (who, room) in [(&pat, &hers), (&vic, &hers), (&olga, &mine)] {
        let ack = w.request(who, req::invite(room, &[&pat], false));
        let ServerMessage::AckInviteBreakOutRoom(a) = &ack.msg else {
            panic!("{ack:?}")
        };
        assert_eq!(a.result, 5003, "{who} inviting to {room}");
        assert!(a.invited.is_empty() && a.failed.is_empty());
        // Force join does not get around it.
        assert_eq!(
            req::result(&w.request(who, req::invite(room, &[&pat], true))),
            5003
        );
    }
    assert!(w
        .family()
        .breakout_rooms()
        .iter()
        .all(|b| b.invitations.is_empty()));
    assert!(w.drain_all().is_empty());

    w.invite_to(&olga, &hers, &[&pat]);
    w.invite_to(&mia, &hers, &[&vic]);
}

#[test]
fn only_a_moderator_may_destroy_all() {
    let mut w = World::with_defaults(4);
    let mia = w.connect("Mia", Role::Moderator);
    let olga = w.connect("Olga", Role::Participant);
    let vic = w.connect("Vic", Role::Viewer);
    let rooms = w.create_rooms(&olga, 2, 2);
    w.clear_inboxes();
    for who in [&olga, &vic] {
        let ack = w.request(who, ClientMessage::DestroyAllBreakOutSession);
        assert!(
            matches!(&ack.msg, ServerMessage::AckDestroyAllBreakOutSession(a) if a.result == 5003 && matches!(a.msg, Msg::Text(_))),
            "{ack:?}"
        );
    }
    assert_eq!(
        w.live_rooms(),
        rooms,
        "even the owner of every room may not"
    );
    assert!(w.drain_all().is_empty());
    assert_eq!(
        req::rooms(&w.request(&mia, ClientMessage::DestroyAllBreakOutSession)),
        rooms
    );
}

#[test]
fn everyone_may_pause_mute_clear_and_reject() {
    let mut w = World::with_defaults(5);
    let mia = w.connect("Mia", Role::Moderator);
    let vic = w.connect("Vic", Role::Viewer);
    let room = w.create_rooms(&mia, 2, 1).remove(0);
    w.invite_to(&mia, &room, &[&vic]);
    for msg in [
        ClientMessage::Pause,
        ClientMessage::Resume,
        req::mute(true, false),
        req::unmute(true, false),
        ClientMessage::ClearAllBreakOutSession,
        req::reject(&room),
    ] {
        let ty = msg.type_name();
        assert_eq!(req::result(&w.request(&vic, msg)), 0, "viewer {ty}");
    }
}
