//! The routing table a family's media plane publishes to its shards: who receives each source
//! on which slot, grouped by the shard that holds the receiver's session.
//!
//! A table is immutable once published (`Arc<RouteTable>`): every shard holds the same one,
//! and a route change is a new table. A shard reads it per packet and never writes it.

use super::Sharing;
use alcove_proto::ClientId;
use std::collections::HashMap;

/// Audio receivers of one source on one shard: (receiver, audio slot index).
pub type SlotTargets = Vec<(ClientId, usize)>;

/// Who receives what, as decided by the family's talker evaluation.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct RouteTable {
    /// How many shards the family runs; the outer index of every per-shard list.
    pub(crate) shards: usize,
    /// The shard that holds each client's session.
    pub(crate) shard_of: HashMap<ClientId, usize>,
    /// Source → receivers' audio slots, per shard (`[shard]`).
    pub(crate) audio: HashMap<ClientId, Vec<SlotTargets>>,
    /// (sharer, kind) → receivers of its share / canvas slot, per shard. A source is in this
    /// table only while it is the current sharer of that kind in its room.
    pub(crate) video: HashMap<(ClientId, Sharing), Vec<Vec<ClientId>>>,
    /// (receiver, kind) → the sharer shown in its share / canvas slot (for keyframe requests).
    pub(crate) video_src: HashMap<(ClientId, Sharing), ClientId>,
    /// Camera publisher → receivers' video slots, per shard (`[shard]`). A publisher is in
    /// this table only while some receiver shows it (never while it is in a break-out room).
    pub(crate) camera: HashMap<ClientId, Vec<SlotTargets>>,
    /// (receiver, video slot) → the publisher shown there (for keyframe requests).
    pub(crate) camera_src: HashMap<(ClientId, usize), ClientId>,
}

impl RouteTable {
    /// An empty table for `shards` shards.
    pub(crate) fn empty(shards: usize) -> RouteTable {
        RouteTable {
            shards,
            ..RouteTable::default()
        }
    }

    /// The audio receivers of `src` on `shard`.
    pub(crate) fn audio_on(&self, src: &ClientId, shard: usize) -> &[(ClientId, usize)] {
        self.audio
            .get(src)
            .and_then(|v| v.get(shard))
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// The share / canvas receivers of `src` on `shard`.
    pub(crate) fn video_on(&self, src: &ClientId, kind: Sharing, shard: usize) -> &[ClientId] {
        self.video
            .get(&(src.clone(), kind))
            .and_then(|v| v.get(shard))
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// The shards other than `me` that hold a receiver of `src`'s audio.
    pub(crate) fn audio_shards(
        &self,
        src: &ClientId,
        me: usize,
    ) -> impl Iterator<Item = usize> + '_ {
        let lists = self.audio.get(src).map(Vec::as_slice).unwrap_or_default();
        lists
            .iter()
            .enumerate()
            .filter(move |(i, l)| *i != me && !l.is_empty())
            .map(|(i, _)| i)
    }

    /// The shards other than `me` that hold a receiver of `src`'s share / canvas.
    pub(crate) fn video_shards(&self, src: &ClientId, kind: Sharing, me: usize) -> Vec<usize> {
        self.video
            .get(&(src.clone(), kind))
            .map(|lists| {
                lists
                    .iter()
                    .enumerate()
                    .filter(|(i, l)| *i != me && !l.is_empty())
                    .map(|(i, _)| i)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The camera receivers (receiver, video slot) of `src` on `shard`.
    pub(crate) fn camera_on(&self, src: &ClientId, shard: usize) -> &[(ClientId, usize)] {
        self.camera
            .get(src)
            .and_then(|v| v.get(shard))
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// The shards other than `me` that hold a receiver of `src`'s camera.
    pub(crate) fn camera_shards(&self, src: &ClientId, me: usize) -> Vec<usize> {
        self.camera
            .get(src)
            .map(|lists| {
                lists
                    .iter()
                    .enumerate()
                    .filter(|(i, l)| *i != me && !l.is_empty())
                    .map(|(i, _)| i)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// True when `src` is the current sharer of `kind` in its room.
    pub(crate) fn is_sharer(&self, src: &ClientId, kind: Sharing) -> bool {
        self.video.contains_key(&(src.clone(), kind))
    }
}
