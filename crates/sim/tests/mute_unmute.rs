//! `muteRoom` / `unmuteRoom` of the parent link: `ackMuteRoom {0, "Room muted"}` /
//! `ackUnmuteRoom {0, "Room unmuted"}`; at least one flag must be true (1155); everyone else
//! sees the mute state change once (`userMuted`), only when it changes; a muted, resumed member
//! of a break-out room hears the parent but its audio does not reach it.

use alcove_proto::signal::{ClientMessage, MuteAck, Muted, Role, ServerMessage, UserMuted};
use alcove_proto::ErrorCode;
use alcove_sim::{req, World};

#[test]
fn mute_and_unmute_the_parent_from_a_breakout_room() {
    let mut w = World::with_defaults(1);
    let mia = w.connect("Mia", Role::Moderator);
    let pat = w.connect("Pat", Role::Participant);
    let room = w.create_rooms(&mia, 2, 1).remove(0);
    w.invite_and_join(&mia, &pat, &room);
    w.request(&pat, ClientMessage::Resume);
    w.clear_inboxes();

    let ack = w.request(&pat, req::mute(true, false));
    assert_eq!(
        ack.msg,
        ServerMessage::AckMuteRoom(MuteAck {
            result: 0,
            msg: "Room muted".into(),
            muted: Some(Muted {
                audio: true,
                video: false
            })
        }),
        "the ack echoes the resulting state"
    );
    assert_eq!(
        w.user(&pat).muted,
        Muted {
            audio: true,
            video: false
        }
    );
    let n = w.drain_all();
    assert_eq!(
        n.of(&mia),
        [ServerMessage::UserMuted(UserMuted {
            client_id: pat.clone(),
            muted: Muted {
                audio: true,
                video: false
            }
        })]
    );
    assert_eq!(n.len(), 1);
    assert!(w.hears(&pat, &mia), "still hears the parent");
    assert!(!w.hears(&mia, &pat), "but is not heard there");

    let ack = w.request(&pat, req::mute(false, true));
    assert_eq!(
        ack.msg,
        ServerMessage::AckMuteRoom(MuteAck {
            result: 0,
            msg: "Room muted".into(),
            muted: Some(Muted {
                audio: true,
                video: true
            })
        })
    );
    assert_eq!(
        w.user(&pat).muted,
        Muted {
            audio: true,
            video: true
        },
        "flags add up"
    );

    let ack = w.request(&pat, req::unmute(true, true));
    assert_eq!(
        ack.msg,
        ServerMessage::AckUnmuteRoom(MuteAck {
            result: 0,
            msg: "Room unmuted".into(),
            muted: Some(Muted::default())
        })
    );
    assert_eq!(w.user(&pat).muted, Muted::default());
    let n = w.drain_all();
    n.assert_sent("userMuted", &[&mia, &mia]);
    assert!(w.hears(&mia, &pat));
}

#[test]
fn no_flag_is_1155_and_changes_nothing() {
    let mut w = World::with_defaults(2);
    let _mia = w.connect("Mia", Role::Moderator);
    let pat = w.connect("Pat", Role::Participant);
    w.clear_inboxes();
    let ack = w.request(&pat, req::mute(false, false));
    assert!(
        matches!(
            ack.msg,
            ServerMessage::AckMuteRoom(MuteAck { result: 1155, .. })
        ),
        "{ack:?}"
    );
    let ack = w.request(&pat, req::unmute(false, false));
    assert!(
        matches!(
            ack.msg,
            ServerMessage::AckUnmuteRoom(MuteAck { result: 1155, .. })
        ),
        "{ack:?}"
    );
    assert_eq!(ErrorCode::InvalidParameters.code(), 1155);
    assert_eq!(w.user(&pat).muted, Muted::default());
    assert!(w.drain_all().is_empty());
}

#[test]
fn muting_what_is_muted_acks_but_tells_nobody() {
    let mut w = World::with_defaults(3);
    let mia = w.connect("Mia", Role::Moderator);
    let pat = w.connect("Pat", Role::Participant);
    w.clear_inboxes();
    w.request(&pat, req::mute(true, false));
    w.request(&pat, req::mute(true, false));
    w.request(&pat, req::unmute(false, true));
    let n = w.drain_all();
    n.assert_sent("userMuted", &[&mia]);
}

#[test]
fn a_muted_client_in_the_parent_is_not_heard_but_hears() {
    let mut w = World::with_defaults(4);
    let mia = w.connect("Mia", Role::Moderator);
    let pat = w.connect("Pat", Role::Participant);
    w.request(&pat, req::mute(true, false));
    assert!(!w.hears(&mia, &pat));
    assert!(w.hears(&pat, &mia));
    assert!(w.route(&pat).unwrap().muted.audio);
}

#[test]
fn the_mute_state_survives_leaving_the_breakout_room() {
    let mut w = World::with_defaults(5);
    let mia = w.connect("Mia", Role::Moderator);
    let pat = w.connect("Pat", Role::Participant);
    let room = w.create_rooms(&mia, 2, 1).remove(0);
    w.invite_and_join(&mia, &pat, &room);
    w.request(&pat, req::mute(true, false));
    w.request(&pat, req::disconnect(&room));
    let u = w.user(&pat);
    assert!(!u.paused, "auto-resumed");
    assert!(u.muted.audio, "sending stays off while muteRoom holds");
    assert!(!w.hears(&mia, &pat));
}
