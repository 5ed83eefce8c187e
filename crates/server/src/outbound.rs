//! One connection's outbound queue: what its family (and its own reader) asks the writer task
//! to send, bounded in bytes, with presence that collapses instead of piling up.
//!
//! ```text
//!   family task ── push(Frame | Presence | Close) ──► Queue ──► recv() ── writer task ──► socket
//!   reader task ── push(error replies) ──────────────┘
//! ```
//!
//! Why not a channel of frames: a wave of 500 moves is one `usersUpdated` per recipient, but a
//! client that stops reading for a few seconds during several waves would still collect one
//! batch per family step. Presence is state, not events, so only its latest value matters:
//!
//! * **Presence collapses.** A `usersUpdated` batch pushed right behind another one that the
//!   writer has not taken yet is merged into it (latest state per user wins). Only adjacent
//!   batches merge, so the order of everything else is exactly the family's: an ack still
//!   comes before the notifications it caused.
//! * **Bounded in bytes, not frames.** Over [`Limits::max_bytes`], every queued batch is
//!   merged into one at the tail (presence may then arrive after notifications queued behind it,
//!   never before the ack of the request that caused it). Still over the bound means the queue
//!   holds that much of what cannot collapse (acks, break-out notifications, version-1
//!   presence frames): the push fails and the family drops the client.
//! * **No progress.** A queue that is not empty and from which the writer has not finished a
//!   send for [`Limits::stall`] belongs to a client that does not read at all: the push fails.
//!
//! Batches are encoded once per family step ([`Batch::new`]) and shared by every connection;
//! the writer only concatenates the entries it sends, outside the family task.

use crate::driver::Outbound;
use alcove_core::CloseReason;
use alcove_proto::signal::UsersUpdated;
use alcove_proto::ClientId;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// How much a connection may have waiting.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Bytes of frames waiting (after collapsing presence) above which the client is dropped.
    pub max_bytes: usize,
    /// How long a non-empty queue may go without the writer finishing a send.
    pub stall: Duration,
}

/// One `usersUpdated` batch, each entry encoded once and shared by every recipient.
#[derive(Debug)]
pub struct Batch {
    /// `(client, encoded UserInfo)` in the family's order; shared, so that collapsing a slow
    /// reader's queue moves pointers, not the encoded users.
    users: Vec<(ClientId, Arc<str>)>,
    /// Clients who left.
    left: Vec<ClientId>,
    /// Length of the encoded frame.
    bytes: usize,
}

impl Batch {
    /// Encodes a batch's entries.
    pub fn new(update: &UsersUpdated) -> Batch {
        let users: Vec<(ClientId, Arc<str>)> = update
            .users
            .iter()
            .map(|u| (u.client_id.clone(), UsersUpdated::encode_user(u).into()))
            .collect();
        let left = update.left.clone();
        Batch::from_parts(users, left)
    }

    fn from_parts(users: Vec<(ClientId, Arc<str>)>, left: Vec<ClientId>) -> Batch {
        let bytes = 40
            + users.iter().map(|(_, u)| u.len() + 1).sum::<usize>()
            + left.iter().map(|c| c.0.len() + 3).sum::<usize>();
        Batch { users, left, bytes }
    }

    /// The frame text of several batches merged, latest state per user winning.
    fn encode(batches: &[Arc<Batch>]) -> String {
        if let [one] = batches {
            return UsersUpdated::encode_parts(one.users.iter().map(|(_, u)| &**u), &one.left);
        }
        let merged = Batch::merge(batches);
        UsersUpdated::encode_parts(merged.users.iter().map(|(_, u)| &**u), &merged.left)
    }

    /// Several batches as one: each user once, at its first position, with its latest state.
    fn merge(batches: &[Arc<Batch>]) -> Batch {
        enum Latest<'a> {
            User(&'a Arc<str>),
            Left,
        }
        let mut order: Vec<&ClientId> = Vec::new();
        let mut latest: HashMap<&ClientId, Latest<'_>> = HashMap::new();
        for b in batches {
            for (c, u) in &b.users {
                if latest.insert(c, Latest::User(u)).is_none() {
                    order.push(c);
                }
            }
            for c in &b.left {
                if latest.insert(c, Latest::Left).is_none() {
                    order.push(c);
                }
            }
        }
        let mut users = Vec::new();
        let mut left = Vec::new();
        for c in order {
            match latest.get(c) {
                Some(Latest::User(u)) => users.push((c.clone(), Arc::clone(u))),
                Some(Latest::Left) => left.push(c.clone()),
                None => {}
            }
        }
        Batch::from_parts(users, left)
    }
}

/// Why a push was refused: the client is to be dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Over the byte bound with nothing left to collapse.
    Full,
    /// The writer made no progress for [`Limits::stall`].
    Stalled,
    /// The writer is gone.
    Closed,
}

/// What the writer takes next.
#[derive(Debug)]
pub enum Next {
    /// A text frame.
    Text(String),
    /// Close the connection.
    Close(CloseReason),
    /// Close with an explicit WebSocket code.
    CloseCode(u16, &'static str),
}

#[derive(Debug)]
enum Item {
    Frame(String),
    /// Batches not yet merged (the writer merges them when it takes the item).
    Presence(Vec<Arc<Batch>>),
    Close(CloseReason),
    CloseCode(u16, &'static str),
}

impl Item {
    fn bytes(&self) -> usize {
        match self {
            Item::Frame(t) => t.len(),
            Item::Presence(bs) => bs.iter().map(|b| b.bytes).sum(),
            Item::Close(_) | Item::CloseCode(..) => 0,
        }
    }
}

#[derive(Debug)]
struct State {
    items: VecDeque<Item>,
    /// Sum of `Item::bytes` over `items`.
    bytes: usize,
    /// Live [`OutboundTx`] handles; the writer ends once they are all gone and `items` is empty.
    senders: usize,
    /// The [`OutboundRx`] was dropped: pushes fail.
    closed: bool,
    /// The writer took an item and has not finished sending it.
    writing: bool,
    /// When the writer last finished a send, or the queue last started to fill while the
    /// writer was idle: the start of the current wait.
    progress_at: Instant,
}

#[derive(Debug)]
struct Shared {
    // std Mutex: held for a few pointer moves, never across an await.
    state: Mutex<State>,
    ready: Notify,
    limits: Limits,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The pushing side; clones share the queue.
#[derive(Debug)]
pub struct OutboundTx {
    shared: Arc<Shared>,
}

/// The writer's side.
#[derive(Debug)]
pub struct OutboundRx {
    shared: Arc<Shared>,
}

/// A new queue.
pub fn queue(limits: Limits) -> (OutboundTx, OutboundRx) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            items: VecDeque::new(),
            bytes: 0,
            senders: 1,
            closed: false,
            writing: false,
            progress_at: Instant::now(),
        }),
        ready: Notify::new(),
        limits,
    });
    (
        OutboundTx {
            shared: Arc::clone(&shared),
        },
        OutboundRx { shared },
    )
}

impl Clone for OutboundTx {
    fn clone(&self) -> Self {
        self.shared.lock().senders += 1;
        OutboundTx {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl Drop for OutboundTx {
    fn drop(&mut self) {
        let last = {
            let mut s = self.shared.lock();
            s.senders -= 1;
            s.senders == 0
        };
        if last {
            self.shared.ready.notify_one();
        }
    }
}

impl OutboundTx {
    /// Queues `out` for the writer; `Err` means the client is to be dropped (the item is not
    /// queued). Close requests are always accepted.
    pub fn push(&self, out: Outbound) -> Result<(), Refused> {
        let limits = self.shared.limits;
        let now = Instant::now();
        {
            let mut s = self.shared.lock();
            if s.closed {
                return Err(Refused::Closed);
            }
            if s.items.is_empty() && !s.writing {
                s.progress_at = now;
            } else if now.duration_since(s.progress_at) > limits.stall
                && !matches!(out, Outbound::Close(_) | Outbound::CloseCode(..))
            {
                return Err(Refused::Stalled);
            }
            match out {
                Outbound::Presence(batch) => {
                    s.bytes += batch.bytes;
                    match s.items.back_mut() {
                        Some(Item::Presence(batches)) => batches.push(batch),
                        _ => s.items.push_back(Item::Presence(vec![batch])),
                    }
                }
                Outbound::Frame(text) => {
                    s.bytes += text.len();
                    s.items.push_back(Item::Frame(text));
                }
                Outbound::Close(r) => s.items.push_back(Item::Close(r)),
                Outbound::CloseCode(c, why) => s.items.push_back(Item::CloseCode(c, why)),
            }
            if s.bytes > limits.max_bytes {
                collapse(&mut s);
                if s.bytes > limits.max_bytes {
                    return Err(Refused::Full);
                }
            }
        }
        self.shared.ready.notify_one();
        Ok(())
    }

    /// Bytes waiting (tests and traces).
    pub fn queued_bytes(&self) -> usize {
        self.shared.lock().bytes
    }
}

/// Over the bound: every queued batch merged into one at the tail.
fn collapse(s: &mut State) {
    let mut batches: Vec<Arc<Batch>> = Vec::new();
    s.items.retain_mut(|item| match item {
        Item::Presence(bs) => {
            batches.append(bs);
            false
        }
        _ => true,
    });
    if batches.is_empty() {
        return;
    }
    let merged = Arc::new(Batch::merge(&batches));
    s.items.push_back(Item::Presence(vec![merged]));
    s.bytes = s.items.iter().map(Item::bytes).sum();
}

impl OutboundRx {
    /// The next thing to write; `None` once every sender is gone and the queue is empty.
    pub async fn recv(&mut self) -> Option<Next> {
        loop {
            {
                let mut s = self.shared.lock();
                if let Some(item) = s.items.pop_front() {
                    s.bytes -= item.bytes();
                    s.writing = true;
                    drop(s);
                    return Some(match item {
                        Item::Frame(t) => Next::Text(t),
                        Item::Presence(bs) => Next::Text(Batch::encode(&bs)),
                        Item::Close(r) => Next::Close(r),
                        Item::CloseCode(c, why) => Next::CloseCode(c, why),
                    });
                }
                if s.senders == 0 {
                    return None;
                }
            }
            // A push between the check above and this wait leaves a permit: no lost wake-up.
            self.shared.ready.notified().await;
        }
    }

    /// The writer finished sending what it took last.
    pub fn sent(&self) {
        let mut s = self.shared.lock();
        s.writing = false;
        s.progress_at = Instant::now();
    }
}

impl Drop for OutboundRx {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alcove_proto::signal::{
        Location, Muted, Role, ServerFrame, ServerMessage, Status, UserInfo,
    };
    use alcove_proto::RoomId;

    fn user(id: &str, location: Location) -> UserInfo {
        UserInfo {
            client_id: ClientId(id.into()),
            name: id.to_uppercase(),
            role: Role::Participant,
            user_ref: String::new(),
            data: serde_json::Value::Null,
            location,
            paused: false,
            muted: Muted::default(),
        }
    }

    fn batch(users: Vec<UserInfo>, left: &[&str]) -> Outbound {
        let u = UsersUpdated {
            users,
            left: left.iter().map(|c| ClientId((*c).into())).collect(),
        };
        Outbound::Presence(Arc::new(Batch::new(&u)))
    }

    fn ack(n: u64) -> Outbound {
        let f = ServerFrame {
            id: Some(alcove_proto::RequestId(n)),
            msg: ServerMessage::AckPause(Status::ok("Room paused")),
        };
        Outbound::Frame(f.encode())
    }

    fn br(n: &str) -> Location {
        Location::Breakout(RoomId(n.into()))
    }

    async fn texts(rx: &mut OutboundRx, n: usize) -> Vec<ServerFrame> {
        let mut out = Vec::new();
        for _ in 0..n {
            match rx.recv().await {
                Some(Next::Text(t)) => out.push(ServerFrame::decode(&t).unwrap()),
                other => panic!("{other:?}"),
            }
            rx.sent();
        }
        out
    }

    fn limits() -> Limits {
        Limits {
            max_bytes: 1 << 20,
            stall: Duration::from_secs(30),
        }
    }

    #[tokio::test]
    async fn adjacent_batches_merge_with_the_latest_state_and_keep_order_around_acks() {
        let (tx, mut rx) = queue(limits());
        tx.push(batch(vec![user("a", Location::Parent)], &[]))
            .unwrap();
        tx.push(batch(vec![user("a", br("r1")), user("b", br("r1"))], &[]))
            .unwrap();
        tx.push(batch(vec![], &["b"])).unwrap();
        tx.push(ack(7)).unwrap();
        tx.push(batch(vec![user("a", Location::Parent)], &[]))
            .unwrap();
        let got = texts(&mut rx, 3).await;
        let ServerMessage::UsersUpdated(u) = &got[0].msg else {
            panic!("{got:?}")
        };
        assert_eq!(u.users, vec![user("a", br("r1"))]);
        assert_eq!(u.left, vec![ClientId("b".into())]);
        assert_eq!(got[1].id, Some(alcove_proto::RequestId(7)));
        let ServerMessage::UsersUpdated(u) = &got[2].msg else {
            panic!("{got:?}")
        };
        assert_eq!(u.users, vec![user("a", Location::Parent)]);
        assert_eq!(tx.queued_bytes(), 0);
    }

    #[tokio::test]
    async fn over_the_bound_presence_collapses_to_the_tail_and_only_what_cannot_collapse_drops() {
        let one = match batch(vec![user("a", Location::Parent)], &[]) {
            Outbound::Presence(b) => b.bytes,
            _ => unreachable!(),
        };
        let ack_len = match ack(1) {
            Outbound::Frame(t) => t.len(),
            _ => unreachable!(),
        };
        // Room for three batches and four acks.
        let (tx, mut rx) = queue(Limits {
            max_bytes: 3 * one + 4 * ack_len,
            stall: Duration::from_secs(30),
        });
        for i in 0..4 {
            tx.push(batch(vec![user("a", br("r1"))], &[])).unwrap();
            tx.push(ack(i)).unwrap();
        }
        for i in 4..50 {
            let loc = if i % 2 == 0 {
                br("r1")
            } else {
                Location::Parent
            };
            tx.push(batch(vec![user("a", loc)], &[]))
                .unwrap_or_else(|e| panic!("push {i}: {e:?}"));
        }
        assert!(tx.queued_bytes() <= 3 * one + 4 * ack_len);
        // The acks in order, then the presence, collapsed to the latest state.
        let all = texts(&mut rx, 5).await;
        let ids: Vec<u64> = all[..4].iter().filter_map(|f| f.id.map(|i| i.0)).collect();
        assert_eq!(ids, [0, 1, 2, 3]);
        let ServerMessage::UsersUpdated(u) = &all[4].msg else {
            panic!("{:?}", all[4])
        };
        assert_eq!(u.users, vec![user("a", Location::Parent)]);

        // Frames that cannot collapse do overflow.
        let mut refused = None;
        for i in 0..30 {
            if let Err(e) = tx.push(ack(i)) {
                refused = Some(e);
                break;
            }
        }
        assert_eq!(refused, Some(Refused::Full));
    }

    #[tokio::test]
    async fn a_queue_the_writer_does_not_drain_stalls() {
        let (tx, mut rx) = queue(Limits {
            max_bytes: 1 << 20,
            stall: Duration::from_millis(50),
        });
        tx.push(ack(1)).unwrap();
        std::thread::sleep(Duration::from_millis(80));
        assert_eq!(tx.push(ack(2)), Err(Refused::Stalled));
        // A writer that drains it is fine, however long the queue was idle before.
        texts(&mut rx, 1).await;
        std::thread::sleep(Duration::from_millis(80));
        tx.push(ack(3)).unwrap();
        tx.push(ack(4)).unwrap();
        drop(tx);
        assert_eq!(texts(&mut rx, 2).await.len(), 2);
        assert!(rx.recv().await.is_none());
    }
}
