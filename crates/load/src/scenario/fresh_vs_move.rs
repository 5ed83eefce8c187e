//! `fresh-vs-move`: what a new connection costs against what a break-out move costs, with the
//! same client stack, measured to the same event (the first audio frame of the room).
//!
//! Setup: a moderator (signalling only), a talker `T` in the parent, and a talker `B` force-
//! joined into a break-out room (its parent link paused, so the parent never hears it). Each
//! iteration then:
//!
//! 1. **fresh** — a new client gets a REST token, connects, sends `sdpOffer`, runs ICE and
//!    DTLS, and waits for the first frame from `T`; the clock runs from before the token
//!    request to that frame;
//! 2. **move** — the moderator force-joins that client into `B`'s room
//!    (`inviteToBreakOutRoom` with `force_join`); the clock runs from before the request to
//!    the first frame from `B`, which the client could not hear before.
//!
//! The client then closes, and the next iteration starts with a new one.

use crate::client::{wait, ClientSpec, SimClient, Until, FRAME_INTERVAL};
use crate::payload::Clock;
use crate::progress::Progress;
use crate::report::{Checks, Machine};
use crate::scenario::{close_all, connect_all, ms, Resources, ServerProbe, Span, WAIT};
use crate::stats::{line, Summary};
use crate::target::Target;
use alcove_client::proto::api::RoomSettingsInput;
use alcove_client::proto::signal::{Invitee, Role, RoomDefinition};
use alcove_client::proto::RoomId;
use serde::Serialize;
use std::time::{Duration, Instant};

/// Index of the parent talker.
const PARENT_TALKER: u32 = 1;
/// Index of the break-out room talker.
const ROOM_TALKER: u32 = 2;

/// `fresh-vs-move` options.
#[derive(Debug, Clone, PartialEq, clap::Args, Serialize)]
pub struct FreshVsMoveConfig {
    /// Measured iterations (one fresh connection and one move each).
    #[arg(long, default_value_t = 10)]
    pub iterations: u32,
    /// Pause between the fresh connection's first frame and the move, milliseconds.
    #[arg(long, default_value_t = 200)]
    pub pause_ms: u64,
}

impl Default for FreshVsMoveConfig {
    fn default() -> Self {
        FreshVsMoveConfig {
            iterations: 10,
            pause_ms: 200,
        }
    }
}

/// One iteration's numbers, ms.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Iteration {
    /// REST token.
    pub token_ms: f64,
    /// WebSocket + `connect` → `roomConnected`.
    pub signal_ms: f64,
    /// `sdpOffer` → `sdpAnswer`.
    pub sdp_ms: f64,
    /// ICE + DTLS.
    pub ice_dtls_ms: f64,
    /// Token request → first frame from the parent talker.
    pub fresh_ms: Option<f64>,
    /// Forced join request → `connectedBreakoutRoom`.
    pub move_signal_ms: Option<f64>,
    /// Forced join request → first frame from the room's talker.
    pub move_ms: Option<f64>,
}

/// The result of `fresh-vs-move`.
#[derive(Debug, Clone, Serialize)]
pub struct FreshVsMoveReport {
    /// The options it ran with.
    pub config: FreshVsMoveConfig,
    /// The parent room.
    pub room_id: RoomId,
    /// Every iteration.
    pub iterations: Vec<Iteration>,
    /// Fresh connection → first audio.
    pub fresh: Option<Summary>,
    /// Fresh connection ready: token → ICE + DTLS up (no media yet).
    pub fresh_ready: Option<Summary>,
    /// Fresh connection: ICE + DTLS up → first audio frame (waiting for the talker's next
    /// frame and the server's first forward on the new peer connection).
    pub fresh_first_audio_after_ready: Option<Summary>,
    /// Steps of the fresh connection: the REST token.
    pub fresh_token: Option<Summary>,
    /// `connect` → `roomConnected`.
    pub fresh_signal: Option<Summary>,
    /// `sdpOffer` → `sdpAnswer`.
    pub fresh_sdp: Option<Summary>,
    /// ICE + DTLS.
    pub fresh_ice_dtls: Option<Summary>,
    /// Forced join → `connectedBreakoutRoom`.
    pub move_signal: Option<Summary>,
    /// Forced join → first audio of the new room.
    pub moved: Option<Summary>,
    /// median(fresh) / median(move).
    pub ratio_of_medians: Option<f64>,
    /// CPU over the measured iterations.
    pub resources: Resources,
    /// Where the ceiling of this run is, from the CPU readings.
    pub limits: Vec<String>,
    /// Iterations that failed, and why.
    pub failures: Vec<String>,
    /// Sanity checks.
    pub checks: Checks,
    /// What to know when reading the numbers.
    pub notes: Vec<String>,
}

/// Runs the scenario.
pub async fn run(
    target: &Target,
    cfg: &FreshVsMoveConfig,
    progress: &Progress,
) -> anyhow::Result<FreshVsMoveReport> {
    anyhow::ensure!(cfg.iterations >= 1, "--iterations must be at least 1");
    let clock = Clock::start();
    let settings = RoomSettingsInput {
        max_active_talkers: Some(16),
        participants: Some((cfg.iterations + 10).max(100)),
        ..RoomSettingsInput::default()
    };
    let room_id = target.create_room("load-fresh-vs-move", settings).await?;
    let base = |index: u32, name: &str, role: Role, media: bool| ClientSpec {
        index,
        name: name.into(),
        role,
        media,
        slots: None,
        level: -20,
        talking: media,
        log: false,
    };
    let specs = vec![
        base(0, "mod", Role::Moderator, false),
        base(PARENT_TALKER, "parent-talker", Role::Participant, true),
        base(ROOM_TALKER, "room-talker", Role::Participant, true),
    ];
    let (fixed, failures) = connect_all(target, &room_id, specs, clock, progress).await;
    let fixed: Vec<SimClient> = fixed.into_iter().map(|(c, _)| c).collect();
    if !failures.is_empty() || fixed.len() != 3 {
        close_all(fixed).await;
        anyhow::bail!("setup clients did not connect: {failures:?}");
    }
    let (lead, room_talker) = (&fixed[0], &fixed[2]);
    let def = RoomDefinition {
        participants: 15,
        audio: true,
        video: false,
        canvas: false,
        share: false,
        max_rooms: 1,
        force_join: false,
        ..RoomDefinition::default()
    };
    let br = match lead.room.create_break_out_room(&def).await {
        Ok(a) => a.msg.data().and_then(|d| d.rooms.first().cloned()),
        Err(e) => {
            close_all(fixed).await;
            anyhow::bail!("createBreakOutRoom failed: {e}");
        }
    };
    let Some(br) = br else {
        close_all(fixed).await;
        anyhow::bail!("createBreakOutRoom: no room in the ack");
    };
    let joined = room_talker.watch(Until::JoinedBreakout { after: clock.epoch });
    let invite = |c: &SimClient| Invitee {
        clients: vec![c.client_id.clone()],
        room_id: br.clone(),
        force_join: true,
    };
    if let Err(e) = lead
        .room
        .invite_to_break_out_room(&invite(room_talker))
        .await
    {
        close_all(fixed).await;
        anyhow::bail!("inviteToBreakOutRoom failed: {e}");
    }
    if wait(joined, WAIT).await.is_none() {
        close_all(fixed).await;
        anyhow::bail!("the room talker was not moved into the break-out room");
    }
    progress
        .wait(Duration::from_millis(500), "talkers warming up")
        .await;

    let probe = ServerProbe {
        pid: target.server_pid,
    };
    let span = Span::start(&probe);
    let pb = progress.bar(u64::from(cfg.iterations), "fresh connection, then move");
    let mut iterations = Vec::new();
    let mut errors = Vec::new();
    for i in 0..cfg.iterations {
        let spec = ClientSpec {
            log: true,
            talking: false,
            ..base(3 + i, &format!("fresh-{i}"), Role::Participant, true)
        };
        // Both measurements end at the talker's next 20 ms frame. Iterations that start at a
        // fixed phase of that schedule would all wait the same 0–20 ms; spreading the start
        // (and the move) over the frame interval averages that wait out.
        tokio::time::sleep(spread(i, 0.0)).await;
        let t0 = Instant::now();
        let (c, timings) = match SimClient::connect(target, &room_id, spec, clock).await {
            Ok(x) => x,
            Err(e) => {
                errors.push(format!("iteration {i}: {e:#}"));
                pb.inc(1);
                continue;
            }
        };
        let first = c
            .until(
                Until::FrameFrom {
                    senders: vec![PARENT_TALKER],
                    after: t0,
                },
                WAIT,
            )
            .await;
        let mut it = Iteration {
            token_ms: ms(timings.token),
            signal_ms: ms(timings.signal),
            sdp_ms: ms(timings.sdp),
            ice_dtls_ms: ms(timings.ice_dtls),
            fresh_ms: first.map(|t| ms(t - t0)),
            ..Iteration::default()
        };
        if first.is_none() {
            errors.push(format!("iteration {i}: no audio from the parent talker"));
        }
        tokio::time::sleep(Duration::from_millis(cfg.pause_ms) + spread(i, 0.5)).await;
        let t1 = Instant::now();
        let heard = c.watch(Until::FrameFrom {
            senders: vec![ROOM_TALKER],
            after: t1,
        });
        let moved = c.watch(Until::JoinedBreakout { after: t1 });
        match lead.room.invite_to_break_out_room(&invite(&c)).await {
            Ok(_) => {
                it.move_signal_ms = wait(moved, WAIT).await.map(|t| ms(t - t1));
                it.move_ms = wait(heard, WAIT).await.map(|t| ms(t - t1));
                if it.move_ms.is_none() {
                    errors.push(format!(
                        "iteration {i}: no audio from the room after the move"
                    ));
                }
            }
            Err(e) => errors.push(format!("iteration {i}: forced invite failed: {e}")),
        }
        c.close().await;
        iterations.push(it);
        pb.inc(1);
    }
    pb.finish_and_clear();
    let resources = span.end(&probe, None);
    close_all(fixed).await;

    let col = |f: &dyn Fn(&Iteration) -> Option<f64>| {
        Summary::of_ms(iterations.iter().filter_map(f).collect())
    };
    let fresh = col(&|i| i.fresh_ms);
    let moved = col(&|i| i.move_ms);
    let ratio = fresh
        .zip(moved)
        .filter(|(_, m)| m.p50_ms > 0.0)
        .map(|(f, m)| f.p50_ms / m.p50_ms);
    let n_fresh = fresh.map_or(0, |s| s.n);
    let n_move = moved.map_or(0, |s| s.n);
    let mut checks = Checks::default();
    checks.check(
        "every fresh connection heard the parent talker",
        n_fresh == cfg.iterations as usize,
        format!("{n_fresh}/{}", cfg.iterations),
    );
    checks.check(
        "every move heard the break-out room's talker",
        n_move == cfg.iterations as usize,
        format!("{n_move}/{}", cfg.iterations),
    );
    checks.check(
        "a move is faster than a fresh connection (median)",
        ratio.is_some_and(|r| r > 1.0),
        match ratio {
            Some(r) => format!("ratio of medians {r:.1}"),
            None => "no ratio".into(),
        },
    );
    let notes = vec![
        "fresh = REST token + WebSocket connect + sdpOffer + ICE + DTLS + first frame; \
         move = forced inviteToBreakOutRoom → first frame of the new room, on the same peer connection"
            .into(),
        "both end at a frame of a talker sending every 20 ms, so each includes a wait of 0–20 ms \
         for the next frame (iteration starts are spread over the 20 ms so that wait averages ≈ 10 ms)"
            .into(),
        format!(
            "the load tool and the server share {} cores",
            Machine::this().nproc
        ),
    ];
    Ok(FreshVsMoveReport {
        config: cfg.clone(),
        room_id,
        fresh,
        fresh_ready: col(&|i| Some(i.token_ms + i.signal_ms + i.sdp_ms + i.ice_dtls_ms)),
        fresh_first_audio_after_ready: col(&|i| {
            i.fresh_ms
                .map(|f| f - (i.token_ms + i.signal_ms + i.sdp_ms + i.ice_dtls_ms))
        }),
        fresh_token: col(&|i| Some(i.token_ms)),
        fresh_signal: col(&|i| Some(i.signal_ms)),
        fresh_sdp: col(&|i| Some(i.sdp_ms)),
        fresh_ice_dtls: col(&|i| Some(i.ice_dtls_ms)),
        move_signal: col(&|i| i.move_signal_ms),
        moved,
        ratio_of_medians: ratio,
        iterations,
        limits: resources.limits(Machine::this().nproc),
        resources,
        failures: errors,
        checks,
        notes,
    })
}

/// A delay in `[0, 20 ms)` for iteration `i`: golden-ratio steps, shifted by `shift`, so the
/// iterations cover the frame interval evenly.
fn spread(i: u32, shift: f64) -> Duration {
    let frac = ((f64::from(i) + shift) * 0.618_033_988_75).fract();
    FRAME_INTERVAL.mul_f64(frac)
}

impl FreshVsMoveReport {
    /// Human-readable text.
    pub fn text(&self) -> String {
        let mut s = format!("fresh-vs-move: {} iterations\n", self.config.iterations);
        s.push_str(&format!(
            "  fresh connection → first audio  {}\n",
            line(&self.fresh)
        ));
        s.push_str(&format!(
            "    ready (token → ICE+DTLS up)   {}\n",
            line(&self.fresh_ready)
        ));
        s.push_str(&format!(
            "    DTLS up → first audio         {}\n",
            line(&self.fresh_first_audio_after_ready)
        ));
        s.push_str(&format!(
            "    token                         {}\n",
            line(&self.fresh_token)
        ));
        s.push_str(&format!(
            "    connect → roomConnected       {}\n",
            line(&self.fresh_signal)
        ));
        s.push_str(&format!(
            "    sdpOffer → sdpAnswer          {}\n",
            line(&self.fresh_sdp)
        ));
        s.push_str(&format!(
            "    ICE + DTLS                    {}\n",
            line(&self.fresh_ice_dtls)
        ));
        s.push_str(&format!(
            "  move → connectedBreakoutRoom    {}\n",
            line(&self.move_signal)
        ));
        s.push_str(&format!(
            "  move → first audio of the room  {}\n",
            line(&self.moved)
        ));
        match self.ratio_of_medians {
            Some(r) => s.push_str(&format!("  ratio of medians (fresh / move): {r:.1}\n")),
            None => s.push_str("  ratio of medians: n/a\n"),
        }
        s.push_str(&self.resources.text(4, Machine::this().nproc));
        for l in &self.limits {
            s.push_str(&format!("  limit: {l}\n"));
        }
        for f in &self.failures {
            s.push_str(&format!("  failure: {f}\n"));
        }
        for n in &self.notes {
            s.push_str(&format!("  note: {n}\n"));
        }
        s
    }
}
