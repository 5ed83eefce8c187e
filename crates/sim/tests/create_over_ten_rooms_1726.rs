//! A parent holds at most `max_breakout_rooms` (default 10) live break-out rooms: a create that
//! would pass the limit is refused whole with 1726; destroyed rooms free their places.

use alcove_proto::api::RoomSettings;
use alcove_proto::signal::{ClientMessage, Role};
use alcove_sim::{req, World};

#[test]
fn the_eleventh_room_is_refused_with_1726() {
    let mut w = World::with_defaults(1);
    let mia = w.connect("Mia", Role::Moderator);
    let max = w.connect("Max", Role::Moderator);

    assert_eq!(
        req::result(&w.request(&mia, req::create(2, 11))),
        1726,
        "11 at once"
    );
    assert!(w.family().breakout_rooms().is_empty());

    w.create_rooms(&mia, 2, 6);
    w.clear_inboxes();
    let ack = w.request(&max, req::create(2, 5));
    assert_eq!(req::result(&ack), 1726, "6 live + 5 > 10: refused whole");
    assert_eq!(
        w.live_rooms().len(),
        6,
        "nothing of a refused create is made"
    );
    assert!(w.drain_all().is_empty());

    w.create_rooms(&max, 2, 4);
    assert_eq!(w.live_rooms().len(), 10, "exactly the limit is fine");
    assert_eq!(req::result(&w.request(&mia, req::create(2, 1))), 1726);
    assert_eq!(
        req::result(&w.request(&mia, req::create_and_invite(2, 1, false))),
        1726
    );

    w.request(&mia, ClientMessage::DestroyAllBreakOutSession);
    w.create_rooms(&mia, 2, 10);
}

#[test]
fn the_limit_follows_the_room_setting() {
    let settings = RoomSettings {
        max_breakout_rooms: 3,
        ..RoomSettings::default()
    };
    let mut w = World::new(settings, 2);
    let mia = w.connect("Mia", Role::Moderator);
    w.create_rooms(&mia, 2, 2);
    assert_eq!(req::result(&w.request(&mia, req::create(2, 2))), 1726);
    w.create_rooms(&mia, 2, 1);
    assert_eq!(req::result(&w.request(&mia, req::create(2, 1))), 1726);
}

#[test]
fn rooms_destroyed_automatically_free_their_places() {
    let settings = RoomSettings {
        max_breakout_rooms: 2,
        breakout_empty_timeout: 60,
        ..RoomSettings::default()
    };
    let mut w = World::new(settings, 3);
    let mia = w.connect("Mia", Role::Moderator);
    w.create_rooms(&mia, 2, 2);
    assert_eq!(req::result(&w.request(&mia, req::create(2, 1))), 1726);
    w.advance(std::time::Duration::from_secs(60));
    assert!(w.live_rooms().is_empty());
    w.create_rooms(&mia, 2, 2);
}
