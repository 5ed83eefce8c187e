//! The protocol version. The client's `connect` lists the versions it speaks and the server
//! answers with the one it chose; capability checks are named predicates, never `v > n`.

/// The newest protocol version this build speaks.
pub const PROTOCOL_VERSION: u32 = 1;

/// The oldest protocol version this build still speaks.
pub const MIN_PROTOCOL_VERSION: u32 = 1;

/// A negotiated protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProtocolVersion(pub u32);

impl ProtocolVersion {
    /// The current version.
    pub const CURRENT: ProtocolVersion = ProtocolVersion(PROTOCOL_VERSION);

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
}
