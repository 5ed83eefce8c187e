//! The protocol version. The client's `connect` lists the versions it speaks and the server
//! answers with the one it chose; capability checks are named predicates, never `v > n`.
//!
//! * **1**: the first version.
//! * **2**: presence is batched: one `usersUpdated` per family step replaces `userConnected`,
//!   `userDisconnected`, `userMoved`, `userPaused` and `userMuted`
//!   ([`ProtocolVersion::supports_users_updated`]). Everything else is as in version 1.
//! * **3**: the room list: every client gets `breakoutRoomsUpdated` (the rooms created,
//!   changed or removed in one family step) ([`ProtocolVersion::supports_room_list`]).
//!   Everything else is as in version 2.
//! * **4**: camera video: `sdpOffer` may name a `camera` m-line and `video_slots`, and a client
//!   that negotiated video slots gets `videoSlotsUpdated`
//!   ([`ProtocolVersion::supports_video_slots`]); moderators pin cameras with `pinUsers` /
//!   `unpinUsers` and every client gets `updatePinUsers` ([`ProtocolVersion::supports_pinning`]).
//!   Everything else is as in version 3.

/// The newest protocol version this build speaks.
pub const PROTOCOL_VERSION: u32 = 4;

/// The oldest protocol version this build still speaks.
pub const MIN_PROTOCOL_VERSION: u32 = 1;

/// A negotiated protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProtocolVersion(pub u32);

impl ProtocolVersion {
    /// The current version.
    pub const CURRENT: ProtocolVersion = ProtocolVersion(PROTOCOL_VERSION);

    /// Every version this build speaks, oldest first (what a client offers in `connect`).
    pub fn supported() -> Vec<u32> {
        (MIN_PROTOCOL_VERSION..=PROTOCOL_VERSION).collect()
    }

    /// Picks the newest version both sides speak, from the versions a client offered.
    pub fn negotiate(offered: &[u32]) -> Option<ProtocolVersion> {
        offered
            .iter()
            .copied()
            .filter(|v| (MIN_PROTOCOL_VERSION..=PROTOCOL_VERSION).contains(v))
            .max()
            .map(ProtocolVersion)
    }

    /// `inviteToBreakOutRoom` accepts `force_join` (every version so far).
    pub fn supports_force_join(self) -> bool {
        self.0 >= 1
    }

    /// `createAndInviteBreakoutRoom` reports `invitations` and `unassigned` in its ack.
    pub fn supports_assignment_report(self) -> bool {
        self.0 >= 1
    }

    /// Presence comes batched: one `usersUpdated` per family step (latest state of every user
    /// whose presence changed, and who left) instead of `userConnected`, `userDisconnected`,
    /// `userMoved`, `userPaused` and `userMuted` (version 2 on).
    pub fn supports_users_updated(self) -> bool {
        self.0 >= 2
    }

    /// Every client gets `breakoutRoomsUpdated`: the room list (names, member counts,
    /// capacity, self-select, timer) kept current (version 3 on).
    pub fn supports_room_list(self) -> bool {
        self.0 >= 3
    }

    /// `sdpOffer` may negotiate a camera and camera receive slots, and the server maps camera
    /// publishers onto them with `videoSlotsUpdated` (version 4 on).
    pub fn supports_video_slots(self) -> bool {
        self.0 >= 4
    }

    /// Moderators may send `pinUsers` / `unpinUsers`, and the client gets `updatePinUsers`
    /// with the parent room's pinned clients (version 4 on).
    pub fn supports_pinning(self) -> bool {
        self.0 >= 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_picks_the_newest_shared_version() {
        assert_eq!(ProtocolVersion::negotiate(&[1]), Some(ProtocolVersion(1)));
        assert_eq!(
            ProtocolVersion::negotiate(&[1, 2]),
            Some(ProtocolVersion(2))
        );
        assert_eq!(
            ProtocolVersion::negotiate(&[2, 9]),
            Some(ProtocolVersion(2))
        );
        assert_eq!(ProtocolVersion::negotiate(&[9]), None);
        assert!(!ProtocolVersion(1).supports_users_updated());
        assert!(ProtocolVersion(2).supports_users_updated());
        assert!(!ProtocolVersion(2).supports_room_list());
        assert!(ProtocolVersion(3).supports_room_list());
        assert!(!ProtocolVersion(3).supports_video_slots());
        assert!(ProtocolVersion(4).supports_video_slots());
        assert!(!ProtocolVersion(3).supports_pinning());
        assert!(ProtocolVersion(4).supports_pinning());
        assert_eq!(ProtocolVersion::supported(), vec![1, 2, 3, 4]);
    }
}
