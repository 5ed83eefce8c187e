//! `participants` may be at most the parent's `max_active_talkers` − 1; one more is refused
//! with 1725 (for create and create-and-invite).

use alcove_proto::api::RoomSettings;
use alcove_proto::signal::Role;
use alcove_sim::{req, World};

#[test]
fn participants_up_to_max_active_talkers_minus_one_are_accepted_one_more_is_1725() {
    for talkers in [3u32, 6, 16] {
        let settings = RoomSettings {
            max_active_talkers: talkers,
            ..RoomSettings::default()
        };
        let mut w = World::new(settings, u64::from(talkers));
        let mia = w.connect("Mia", Role::Moderator);
        w.clear_inboxes();

        let over = w.request(&mia, req::create(talkers, 1));
        assert_eq!(
            req::result(&over),
            1725,
            "participants = max_active_talkers ({talkers})"
        );
        let over = w.request(&mia, req::create_and_invite(talkers, 1, false));
        assert_eq!(req::result(&over), 1725);
        let far_over = w.request(&mia, req::create(1000, 1));
        assert_eq!(req::result(&far_over), 1725);
        assert!(w.family().breakout_rooms().is_empty());
        assert!(w.drain_all().is_empty());

        let fits = w.request(&mia, req::create(talkers - 1, 1));
        assert_eq!(
            req::result(&fits),
            0,
            "participants = max_active_talkers − 1 ({talkers})"
        );
        assert_eq!(
            w.breakout(&req::rooms(&fits)[0]).unwrap().participants,
            talkers - 1
        );
    }
}

#[test]
fn with_two_talkers_no_room_can_be_made() {
    let settings = RoomSettings {
        max_active_talkers: 2,
        ..RoomSettings::default()
    };
    let mut w = World::new(settings, 1);
    let mia = w.connect("Mia", Role::Moderator);
    assert_eq!(req::result(&w.request(&mia, req::create(2, 1))), 1725);
}
