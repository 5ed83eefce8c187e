//! `soak`: churn for a long time and watch the server's memory and open file descriptors.
//!
//! Up to `clients` synthetic clients (Rust SDK, real WebRTC, talking) come and go in one parent
//! room while a moderator keeps moving them: every step one random action — connect, leave,
//! drop the connection (the SDK resumes), force-join into a break-out room, leave the break-out
//! room, pause/resume, destroy all. Every `sample_secs` the server's RSS and its number of open
//! file descriptors (`/proc/<pid>/fd`) are sampled. The check: after the warm-up third of the
//! run, neither keeps growing (the last samples stay within a margin of the warm-up level).

use crate::progress::Progress;
use crate::report::Checks;
use crate::scenario::ServerProbe;
use crate::target::Target;
use alcove_client::media::{synthetic_opus_frame, Media};
use alcove_client::proto::api::RoomSettingsInput;
use alcove_client::proto::signal::{Invitee, Role, RoomDefinition};
use alcove_client::proto::{ClientId, RoomId};
use alcove_client::{connect, Events, Room};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Options of `soak`.
#[derive(Debug, Clone, PartialEq, clap::Args, Serialize)]
pub struct SoakConfig {
    /// Most clients connected at once (besides the moderator).
    #[arg(long, default_value_t = 20)]
    pub clients: usize,
    /// How long to churn.
    #[arg(long, default_value_t = 600)]
    pub seconds: u64,
    /// Sampling interval of the server's RSS and open file descriptors.
    #[arg(long, default_value_t = 10)]
    pub sample_secs: u64,
    /// Churn actions per second.
    #[arg(long, default_value_t = 5)]
    pub ops_per_sec: u32,
    /// Seed of the action choice.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

impl Default for SoakConfig {
    fn default() -> Self {
        SoakConfig {
            clients: 20,
            seconds: 600,
            sample_secs: 10,
            ops_per_sec: 5,
            seed: 1,
        }
    }
}

/// One reading of the server.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sample {
    /// Seconds since the start.
    pub t_s: f64,
    /// Server resident memory, bytes.
    pub rss_bytes: Option<u64>,
    /// Server open file descriptors.
    pub fds: Option<usize>,
    /// Clients connected (moderator included).
    pub clients: usize,
}

/// What `soak` measured.
#[derive(Debug, Clone, Serialize)]
pub struct SoakReport {
    /// The options.
    pub config: SoakConfig,
    /// The readings, in time order.
    pub samples: Vec<Sample>,
    /// Actions done, by kind.
    pub actions: BTreeMap<String, u64>,
    /// Actions that failed (a refused request, a connect that did not complete).
    pub failures: u64,
    /// RSS at the end of the warm-up and at the end, bytes.
    pub rss_warm_end: Option<(u64, u64)>,
    /// Open descriptors at the end of the warm-up and at the end.
    pub fds_warm_end: Option<(usize, usize)>,
    /// Sanity checks.
    pub checks: Checks,
}

impl SoakReport {
    /// Human-readable text.
    pub fn text(&self) -> String {
        let mut s = format!(
            "soak: up to {} clients, {} s, {} actions/s\nactions: {:?} (failed {})\n",
            self.config.clients,
            self.config.seconds,
            self.config.ops_per_sec,
            self.actions,
            self.failures
        );
        s.push_str("  t (s)   RSS (MiB)   fds   clients\n");
        for x in &self.samples {
            s.push_str(&format!(
                "  {:6.0}   {:9}   {:4}   {:7}\n",
                x.t_s,
                x.rss_bytes
                    .map_or("?".into(), |b| format!("{:.1}", b as f64 / 1048576.0)),
                x.fds.map_or("?".into(), |f| f.to_string()),
                x.clients
            ));
        }
        s
    }
}

struct Member {
    room: Room,
    _events: Events,
    media: Arc<Media>,
    talker: tokio::task::JoinHandle<()>,
}

fn open_fds(pid: u32) -> Option<usize> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .ok()
        .map(|d| d.count())
}

/// A tiny deterministic generator for the action choice.
struct Lcg(u64);
impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n.max(1)
    }
}

async fn join(target: &Target, room: &RoomId, name: &str, role: Role) -> anyhow::Result<Member> {
    let req = alcove_client::proto::api::CreateTokenRequest {
        name: name.into(),
        role,
        user_ref: name.into(),
        data: serde_json::Value::Null,
    };
    let token = target.rest.create_token(room, &req).await?;
    let (r, events) = connect(&target.signal_url, &token.token).await?;
    let media = Arc::new(r.start_media(target.bind_ip, None).await?);
    let m = Arc::clone(&media);
    let talker = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        let mut seq = 0u32;
        loop {
            tick.tick().await;
            m.send_opus(&synthetic_opus_frame(&seq.to_be_bytes()), -30);
            seq = seq.wrapping_add(1);
        }
    });
    Ok(Member {
        room: r,
        _events: events,
        media,
        talker,
    })
}

async fn leave(m: Member) {
    m.talker.abort();
    m.media.close();
    m.room.close().await;
}

/// Runs `soak` against `target` (whose `server_pid` should be set for the readings).
pub async fn run(
    target: &Target,
    c: &SoakConfig,
    progress: &Progress,
) -> anyhow::Result<SoakReport> {
    let probe = ServerProbe {
        pid: target.server_pid,
    };
    let settings = RoomSettingsInput {
        participants: Some((c.clients as u32 + 10).max(10)),
        ..Default::default()
    };
    let room = target.create_room("alcove-load soak", settings).await?;
    let moderator = join(target, &room, "moderator", Role::Moderator).await?;
    let mut members: BTreeMap<ClientId, Member> = BTreeMap::new();
    let mut actions: BTreeMap<String, u64> = BTreeMap::new();
    let mut failures = 0u64;
    let mut rng = Lcg(c.seed);
    let mut rooms: Vec<RoomId> = Vec::new();
    let mut samples = Vec::new();
    let start = Instant::now();
    let end = start + Duration::from_secs(c.seconds);
    let step = Duration::from_secs_f64(1.0 / f64::from(c.ops_per_sec.max(1)));
    let mut next_sample = start;
    let mut n = 0u32;
    let pb = progress.bar(c.seconds, "soak");
    while Instant::now() < end {
        if Instant::now() >= next_sample {
            samples.push(Sample {
                t_s: start.elapsed().as_secs_f64(),
                rss_bytes: probe.rss(),
                fds: target.server_pid.and_then(open_fds),
                clients: members.len() + 1,
            });
            next_sample += Duration::from_secs(c.sample_secs.max(1));
            pb.set_position(start.elapsed().as_secs());
        }
        let ids: Vec<ClientId> = members.keys().cloned().collect();
        let pick = |rng: &mut Lcg| ids.get(rng.below(ids.len())).cloned();
        let what = if members.len() < c.clients / 2 {
            0
        } else {
            rng.below(8)
        };
        let (name, ok) = match what {
            0 | 1 if members.len() < c.clients => {
                n += 1;
                match join(target, &room, &format!("p{n}"), Role::Participant).await {
                    Ok(m) => {
                        members.insert(m.room.client_id().clone(), m);
                        ("connect", true)
                    }
                    Err(_) => ("connect", false),
                }
            }
            2 => match pick(&mut rng).and_then(|id| members.remove(&id)) {
                Some(m) => {
                    leave(m).await;
                    ("leave", true)
                }
                None => ("leave", true),
            },
            3 => {
                if let Some(id) = pick(&mut rng) {
                    members[&id].room.drop_connection();
                }
                ("drop+resume", true)
            }
            4 | 5 => {
                if rooms.is_empty() {
                    let def = RoomDefinition {
                        participants: 4,
                        audio: true,
                        video: false,
                        canvas: false,
                        share: false,
                        max_rooms: 3,
                        force_join: false,
                        ..RoomDefinition::default()
                    };
                    match moderator.room.create_break_out_room(&def).await {
                        Ok(a) => rooms = a.msg.data().map(|r| r.rooms.clone()).unwrap_or_default(),
                        Err(_) => failures += 1,
                    }
                }
                match (pick(&mut rng), rooms.get(rng.below(rooms.len())).cloned()) {
                    (Some(id), Some(r)) => {
                        let inv = Invitee {
                            clients: vec![id],
                            room_id: r,
                            force_join: true,
                        };
                        (
                            "force-join",
                            moderator.room.invite_to_break_out_room(&inv).await.is_ok(),
                        )
                    }
                    _ => ("force-join", true),
                }
            }
            6 => match pick(&mut rng) {
                Some(id) => {
                    let _ = members[&id].room.clear_all_break_out_session().await;
                    ("clear-all", true)
                }
                None => ("clear-all", true),
            },
            _ => {
                let ok = moderator.room.destroy_all_break_out_session().await.is_ok();
                rooms.clear();
                ("destroy-all", ok)
            }
        };
        *actions.entry(name.into()).or_default() += 1;
        if !ok {
            failures += 1;
        }
        tokio::time::sleep(step).await;
    }
    samples.push(Sample {
        t_s: start.elapsed().as_secs_f64(),
        rss_bytes: probe.rss(),
        fds: target.server_pid.and_then(open_fds),
        clients: members.len() + 1,
    });
    pb.finish_and_clear();
    for (_, m) in std::mem::take(&mut members) {
        leave(m).await;
    }
    leave(moderator).await;

    let mut checks = Checks::default();
    let total: u64 = actions.values().sum();
    checks.check("churned", total > 0, format!("{total} actions"));
    checks.check(
        "few failures",
        failures * 10 <= total.max(1),
        format!("{failures} of {total} actions failed"),
    );
    // Warm-up: the first third of the samples (at least one).
    let warm = (samples.len() / 3)
        .max(1)
        .min(samples.len().saturating_sub(1));
    let warm_rss = samples.get(warm).and_then(|s| s.rss_bytes);
    let last_rss = samples.last().and_then(|s| s.rss_bytes);
    let warm_fd = samples.get(warm).and_then(|s| s.fds);
    let last_fd = samples.last().and_then(|s| s.fds);
    let max_rss_after = samples[warm..].iter().filter_map(|s| s.rss_bytes).max();
    let rss_warm_end = warm_rss.zip(last_rss);
    let fds_warm_end = warm_fd.zip(last_fd);
    if let (Some(w), Some(max)) = (warm_rss, max_rss_after) {
        // Flat: the highest reading after the warm-up stays within 25% (+8 MiB) of it.
        let limit = w + w / 4 + 8 * 1024 * 1024;
        checks.check(
            "server memory flat after warm-up",
            max <= limit,
            format!(
                "warm-up {:.1} MiB, max after {:.1} MiB, limit {:.1} MiB",
                w as f64 / 1048576.0,
                max as f64 / 1048576.0,
                limit as f64 / 1048576.0
            ),
        );
    }
    if let (Some(w), Some(l)) = (warm_fd, last_fd) {
        // Descriptors follow the number of connections; compare per connected client.
        let limit = w + 2 * c.clients + 16;
        checks.check(
            "server file descriptors flat",
            l <= limit,
            format!("warm-up {w}, end {l}, limit {limit}"),
        );
    }
    Ok(SoakReport {
        config: c.clone(),
        samples,
        actions,
        failures,
        rss_warm_end,
        fds_warm_end,
        checks,
    })
}
