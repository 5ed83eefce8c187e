//! Connecting: the new client's `roomConnected` ack carries its id, the room, everyone
//! connected (with locations and parent-link state) and the live break-out rooms; every other
//! client gets `userConnected` once.

use alcove_proto::api::RoomSettings;
use alcove_proto::signal::{Location, Role, ServerMessage};
use alcove_sim::World;

#[test]
fn a_newcomer_sees_who_is_where_and_the_others_see_it_arrive() {
    let mut w = World::with_defaults(1);
    let mia = w.connect("Mia", Role::Moderator);
    let pat = w.connect("Pat", Role::Participant);
    let room = w.create_rooms(&mia, 2, 1).remove(0);
    w.invite_and_join(&mia, &pat, &room);
    w.clear_inboxes();

    let quinn = w.connect("Quinn", Role::Participant);
    let n = w.drain_all();
    n.assert_sent("userConnected", &[&mia, &pat]);
    let ServerMessage::UserConnected(u) = n.one(&pat, "userConnected") else {
        unreachable!()
    };
    assert_eq!(
        (
            u.client_id.clone(),
            u.name.as_str(),
            u.role,
            u.location.clone()
        ),
        (quinn.clone(), "Quinn", Role::Participant, Location::Parent)
    );
    assert!(
        n.of(&quinn).is_empty(),
        "its own arrival is in its ack, not a notification"
    );
    assert!(w.hears(&quinn, &mia) && !w.hears(&quinn, &pat));
}

#[test]
fn the_connect_ack_describes_the_family() {
    let mut w = World::with_defaults(2);
    let mia = w.connect("Mia", Role::Moderator);
    let pat = w.connect("Pat", Role::Participant);
    let room = w.create_rooms(&mia, 2, 1).remove(0);
    w.invite_and_join(&mia, &pat, &room);

    let (quinn, ack) = w.try_connect("Quinn", Role::Participant).expect("admitted");
    let ServerMessage::RoomConnected(c) = ack.msg else {
        panic!("{ack:?}")
    };
    assert_eq!(
        (c.result, c.version),
        (0, alcove_sim::world::SIM_PROTOCOL_VERSION)
    );
    assert_eq!(c.client_id, quinn);
    assert_eq!(c.room.room_id.as_str(), "parent");
    assert_eq!(c.room.settings, RoomSettings::default());
    assert_eq!(
        c.users,
        w.family().users(),
        "everyone, the newcomer included"
    );
    assert_eq!(
        c.users
            .iter()
            .map(|u| u.client_id.clone())
            .collect::<Vec<_>>(),
        vec![mia, pat.clone(), quinn]
    );
    assert_eq!(c.users[1].location, Location::Breakout(room.clone()));
    assert!(c.users[1].paused);
    assert_eq!(c.breakout_rooms, w.family().breakout_rooms());
    assert_eq!(c.breakout_rooms[0].members, vec![w.user_ref(&pat)]);
}
