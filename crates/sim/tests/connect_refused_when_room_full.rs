//! The parent's places per role are enforced at connect: a moderator beyond `moderators`, or a
//! participant or viewer beyond `participants`, gets `error` 4105 and its connection is closed;
//! nobody else is told.

use alcove_proto::api::RoomSettings;
use alcove_proto::signal::{Role, ServerMessage, Status};
use alcove_proto::ErrorCode;
use alcove_sim::{Connection, World};

#[test]
fn the_place_after_the_last_is_refused() {
    let settings = RoomSettings {
        moderators: 1,
        participants: 2,
        ..RoomSettings::default()
    };
    let mut w = World::new(settings, 1);
    let mia = w.connect("Mia", Role::Moderator);
    let _pat = w.connect("Pat", Role::Participant);
    let _vic = w.connect("Vic", Role::Viewer);
    w.clear_inboxes();

    for (name, role) in [
        ("Max", Role::Moderator),
        ("Quinn", Role::Participant),
        ("Val", Role::Viewer),
    ] {
        // `try_connect` also checks that the refused connection was closed (`Refused`).
        let err = w.try_connect(name, role).expect_err("room full");
        assert_eq!(
            err.msg,
            ServerMessage::Error(Status::err(ErrorCode::RoomFull))
        );
    }
    assert!(w.drain_all().is_empty());
    assert_eq!(w.family().client_count(), 3);

    w.drop_client(&mia);
    let max = w.connect("Max", Role::Moderator);
    assert_eq!(w.connection(&max), Connection::Connected);
}
