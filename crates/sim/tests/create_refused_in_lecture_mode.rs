//! In a parent room in `lecture` mode, break-out rooms are not available: create and
//! create-and-invite are refused with 5067 and nothing else happens.

use alcove_proto::api::{RoomMode, RoomSettings};
use alcove_proto::signal::{
    AckCreateAndInviteBreakOutRoom, AckCreateBreakOutRoom, Msg, Role, ServerMessage,
};
use alcove_sim::{req, World};

fn lecture() -> World {
    World::new(
        RoomSettings {
            mode: RoomMode::Lecture,
            ..RoomSettings::default()
        },
        1,
    )
}

#[test]
fn create_is_refused_with_5067() {
    let mut w = lecture();
    let mia = w.connect("Mia", Role::Moderator);
    let pat = w.connect("Pat", Role::Participant);
    w.clear_inboxes();

    for who in [&mia, &pat] {
        let ack = w.request(who, req::create(3, 1));
        match &ack.msg {
            ServerMessage::AckCreateBreakOutRoom(AckCreateBreakOutRoom {
                result: 5067,
                msg: Msg::Text(t),
            }) => {
                assert!(t.contains("lecture"), "the message says why: {t}")
            }
            other => panic!("expected ackCreateBreakOutRoom 5067, got {other:?}"),
        }
    }
    assert!(w.family().breakout_rooms().is_empty());
    assert!(w.drain_all().is_empty());
}

#[test]
fn create_and_invite_is_refused_with_5067() {
    let mut w = lecture();
    let mia = w.connect("Mia", Role::Moderator);
    let _pat = w.connect("Pat", Role::Participant);
    w.clear_inboxes();

    let ack = w.request(&mia, req::create_and_invite(2, 1, false));
    assert!(matches!(
        ack.msg,
        ServerMessage::AckCreateAndInviteBreakOutRoom(AckCreateAndInviteBreakOutRoom {
            result: 5067,
            msg: Msg::Text(_)
        })
    ));
    assert!(w.family().breakout_rooms().is_empty());
    assert!(w.drain_all().is_empty());
}

#[test]
fn an_invalid_definition_in_lecture_mode_still_gets_5067_first() {
    let mut w = lecture();
    let mia = w.connect("Mia", Role::Moderator);
    let ack = w.request(&mia, req::create_raw(serde_json::json!({})));
    assert_eq!(
        req::result(&ack),
        5067,
        "mode is checked before the definition"
    );
}
