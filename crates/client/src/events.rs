//! [`Events`]: every frame the server sends on a connection, in arrival order.
//!
//! Acknowledgements are in the stream too, next to notifications, so the stream maps one to one
//! to the seed's callbacks (`ackCreateBreakOutRoom`, `invitationForBreakoutRoom`, …). The
//! `roomConnected` answer to `connect` is not in it: [`crate::Room::connected`] holds it.
//! The stream ends (`None`) once the connection is closed and every frame received before that
//! has been taken.

use alcove_proto::signal::ServerFrame;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// The frames a connection received, in arrival order. Returned by [`crate::connect`].
#[derive(Debug)]
pub struct Events {
    /// Fed by the connection task; closed when the connection ends.
    rx: mpsc::UnboundedReceiver<ServerFrame>,
}

impl Events {
    pub(crate) fn new(rx: mpsc::UnboundedReceiver<ServerFrame>) -> Events {
        Events { rx }
    }

    /// The next frame; `None` once the connection is closed and every frame has been taken.
    pub async fn next(&mut self) -> Option<ServerFrame> {
        self.rx.recv().await
    }

    /// The next frame if one has already arrived; never waits.
    pub fn try_next(&mut self) -> Option<ServerFrame> {
        self.rx.try_recv().ok()
    }

    /// The next frame, waiting at most `d`; `None` on timeout or when the stream ended.
    pub async fn next_within(&mut self, d: Duration) -> Option<ServerFrame> {
        tokio::time::timeout(d, self.rx.recv()).await.ok().flatten()
    }

    /// Every frame that arrives in the next `d` (returns early if the stream ends).
    pub async fn drain_for(&mut self, d: Duration) -> Vec<ServerFrame> {
        let deadline = Instant::now() + d;
        let mut frames = Vec::new();
        while let Ok(Some(frame)) = tokio::time::timeout_at(deadline, self.rx.recv()).await {
            frames.push(frame);
        }
        frames
    }

    /// The first frame within `d` for which `pred` is true. Frames that do not match are taken
    /// from the stream and dropped. `None` on timeout or when the stream ended.
    pub async fn wait_for(
        &mut self,
        d: Duration,
        mut pred: impl FnMut(&ServerFrame) -> bool,
    ) -> Option<ServerFrame> {
        let deadline = Instant::now() + d;
        while let Ok(Some(frame)) = tokio::time::timeout_at(deadline, self.rx.recv()).await {
            if pred(&frame) {
                return Some(frame);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alcove_proto::signal::{ServerMessage, Status};

    fn frame(msg: &str) -> ServerFrame {
        ServerFrame {
            id: None,
            msg: ServerMessage::AckPause(Status::ok(msg)),
        }
    }

    fn text(f: &ServerFrame) -> &str {
        match &f.msg {
            ServerMessage::AckPause(s) => &s.msg,
            _ => "",
        }
    }

    const SHORT: Duration = Duration::from_millis(30);

    #[tokio::test]
    async fn frames_come_out_in_order_then_none_after_close() {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut ev = Events::new(rx);
        assert_eq!(ev.try_next(), None);
        tx.send(frame("a")).unwrap();
        tx.send(frame("b")).unwrap();
        drop(tx);
        assert_eq!(ev.try_next(), Some(frame("a")));
        assert_eq!(ev.next().await, Some(frame("b")));
        assert_eq!(ev.next().await, None);
    }

    #[tokio::test]
    async fn next_within_times_out() {
        let (_tx, rx) = mpsc::unbounded_channel();
        let mut ev = Events::new(rx);
        assert_eq!(ev.next_within(SHORT).await, None);
    }

    #[tokio::test]
    async fn drain_for_collects_everything_until_the_deadline() {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut ev = Events::new(rx);
        tx.send(frame("a")).unwrap();
        tx.send(frame("b")).unwrap();
        let got = ev.drain_for(SHORT).await;
        assert_eq!(got, vec![frame("a"), frame("b")]);
        // The sender is still alive: the deadline, not the end of the stream, stopped it.
        assert_eq!(ev.try_next(), None);
    }

    #[tokio::test]
    async fn wait_for_skips_frames_that_do_not_match() {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut ev = Events::new(rx);
        for m in ["a", "b", "c"] {
            tx.send(frame(m)).unwrap();
        }
        assert_eq!(
            ev.wait_for(SHORT, |f| text(f) == "b").await,
            Some(frame("b"))
        );
        assert_eq!(ev.try_next(), Some(frame("c")));
        assert_eq!(ev.wait_for(SHORT, |f| text(f) == "z").await, None);
    }
}
