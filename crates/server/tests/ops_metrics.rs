//! `GET /metrics` after a real break-out flow: families, clients by role and location,
//! break-out rooms, operations with their result codes, the move latency histogram, media
//! shard datagrams, resumes. Scraped over HTTP and parsed as Prometheus text.

mod common;

use alcove_client::media::synthetic_opus_frame;
use alcove_client::ConnectionState;
use alcove_proto::signal::{JoinRole, Role, RoomDefinition};
use common::{create, force_into, TestServer};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

/// One scrape: `name{k="v",…}` (labels sorted) → value, and the `# TYPE` of each family.
#[derive(Debug, Default)]
struct Scrape {
    samples: BTreeMap<String, f64>,
    types: BTreeMap<String, String>,
}

impl Scrape {
    /// Parses the text exposition format; panics on a line it cannot read.
    fn parse(text: &str) -> Scrape {
        let mut s = Scrape::default();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').expect("TYPE name kind");
                s.types.insert(name.into(), kind.into());
                continue;
            }
            if line.starts_with('#') {
                continue;
            }
            let (series, value) = line.rsplit_once(' ').expect("series value");
            let value: f64 = value.parse().unwrap_or_else(|_| panic!("value of {line}"));
            let key = match series.split_once('{') {
                None => series.to_owned(),
                Some((name, labels)) => {
                    let labels = labels.strip_suffix('}').expect("closing brace");
                    let mut pairs: Vec<(String, String)> = labels
                        .split(',')
                        .filter(|p| !p.is_empty())
                        .map(|p| {
                            let (k, v) = p.split_once('=').expect("k=v");
                            (k.to_owned(), v.trim_matches('"').to_owned())
                        })
                        .collect();
                    pairs.sort();
                    let inner: Vec<String> =
                        pairs.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
                    format!("{name}{{{}}}", inner.join(","))
                }
            };
            let family = key.split('{').next().unwrap_or(&key);
            let base = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|suf| family.strip_suffix(suf))
                .filter(|b| s.types.contains_key(*b))
                .unwrap_or(family);
            assert!(
                s.types.contains_key(base),
                "sample {key} has no # TYPE line before it"
            );
            s.samples.insert(key, value);
        }
        s
    }

    fn get(&self, key: &str) -> f64 {
        self.samples.get(key).copied().unwrap_or(0.0)
    }

    /// The sum over every series of `family` whose labels include `labels` (sorted form).
    fn sum(&self, family: &str, filter: &str) -> f64 {
        self.samples
            .iter()
            .filter(|(k, _)| k.split('{').next() == Some(family) && k.contains(filter))
            .map(|(_, v)| v)
            .sum()
    }
}

async fn scrape(s: &TestServer) -> Scrape {
    let creds = s.running.credentials.clone().expect("dev app");
    let res = reqwest::Client::new()
        .get(format!("{}/metrics", s.running.http_url()))
        .basic_auth(&creds.app_id, Some(&creds.app_key))
        .send()
        .await
        .expect("scrape");
    assert_eq!(res.status(), 200);
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert!(ct.starts_with("text/plain"), "{ct}");
    Scrape::parse(&res.text().await.expect("body"))
}

/// Scrapes until `ok` holds (deadline 10 s): the family updates its gauges right after it
/// queues an ack, so a scrape may land between the two.
async fn scrape_until(s: &TestServer, what: &str, ok: impl Fn(&Scrape) -> bool) -> Scrape {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let m = scrape(s).await;
        if ok(&m) {
            return m;
        }
        assert!(Instant::now() < deadline, "{what}: {:#?}", m.samples);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn def(rooms: u32) -> RoomDefinition {
    RoomDefinition {
        participants: 2,
        audio: true,
        video: false,
        canvas: false,
        share: false,
        max_rooms: rooms,
        force_join: false,
        ..RoomDefinition::default()
    }
}

#[tokio::test]
async fn metrics_follow_a_breakout_flow() {
    let s = TestServer::start().await;
    let before = scrape(&s).await;
    assert_eq!(
        before.types.get("alcove_families").map(String::as_str),
        Some("gauge")
    );
    assert_eq!(before.get("alcove_families"), 0.0);
    let room = s.room(Default::default()).await;
    let ada = s.peer(&room, "Ada", Role::Moderator).await;
    let ben = s.peer(&room, "Ben", Role::Participant).await;
    let cem = s.peer(&room, "Cem", Role::Participant).await;
    let _vic = s.peer(&room, "Vic", Role::Viewer).await;

    let m = scrape_until(&s, "four clients in the parent", |m| {
        m.get("alcove_families") == 1.0
            && m.get("alcove_clients{location=\"parent\",role=\"participant\"}") == 2.0
    })
    .await;
    assert_eq!(
        m.get("alcove_clients{location=\"parent\",role=\"moderator\"}"),
        1.0
    );
    assert_eq!(
        m.get("alcove_clients{location=\"parent\",role=\"viewer\"}"),
        1.0
    );
    assert_eq!(
        m.get("alcove_clients{location=\"breakout\",role=\"participant\"}"),
        0.0
    );
    assert_eq!(
        m.get("alcove_operations_total{op=\"connect\",result=\"0\"}"),
        4.0,
        "every connect is an operation"
    );

    // Two rooms; Ben forced into the first; Cem tries the second without an invitation (a
    // refusal with its code); Ada joins the second as moderator.
    let rooms = create(&ada, &def(2)).await;
    force_into(&ada, &rooms[0], &[&ben.id]).await;
    let refused = cem
        .room
        .join_breakout_room(&rooms[1], JoinRole::Participant, Default::default())
        .await
        .expect_err("no invitation");
    let code = match refused {
        alcove_client::Error::Refused { result, .. } => result,
        other => panic!("{other:?}"),
    };
    let br = ada
        .room
        .join_breakout_room(&rooms[1], JoinRole::Moderator, Default::default())
        .await
        .expect("moderator joins");

    let m = scrape_until(&s, "Ben and Ada in break-out rooms", |m| {
        m.get("alcove_clients{location=\"breakout\",role=\"participant\"}") == 1.0
            && m.get("alcove_clients{location=\"breakout\",role=\"moderator\"}") == 1.0
    })
    .await;
    assert_eq!(m.get("alcove_breakout_rooms"), 2.0);
    assert_eq!(m.get("alcove_breakout_rooms_created_total"), 2.0);
    assert_eq!(
        m.get("alcove_clients{location=\"parent\",role=\"participant\"}"),
        1.0
    );
    assert_eq!(
        m.get("alcove_operations_total{op=\"createBreakOutRoom\",result=\"0\"}"),
        1.0
    );
    assert_eq!(
        m.get("alcove_operations_total{op=\"inviteToBreakOutRoom\",result=\"0\"}"),
        1.0
    );
    assert_eq!(
        m.get(&format!(
            "alcove_operations_total{{op=\"joinBreakoutRoom\",result=\"{code}\"}}"
        )),
        1.0,
        "the refused join is counted with its code {code}"
    );
    assert_eq!(
        m.get("alcove_operations_total{op=\"joinBreakoutRoom\",result=\"0\"}"),
        1.0
    );
    assert_eq!(m.get("alcove_member_moves_total"), 2.0);
    assert_eq!(
        m.types.get("alcove_move_seconds").map(String::as_str),
        Some("histogram")
    );
    assert_eq!(
        m.get("alcove_move_seconds_count{op=\"joinBreakoutRoom\"}"),
        2.0,
        "both joins (refused or not) are timed"
    );
    assert_eq!(
        m.get("alcove_move_seconds_bucket{le=\"+Inf\",op=\"joinBreakoutRoom\"}"),
        2.0
    );

    // Ada leaves, then destroys everything: Ben comes back.
    br.disconnect().await.expect("disconnect");
    ada.room
        .destroy_all_break_out_session()
        .await
        .expect("destroy all");
    let m = scrape_until(&s, "everything destroyed", |m| {
        m.get("alcove_breakout_rooms") == 0.0
            && m.get("alcove_clients{location=\"breakout\",role=\"participant\"}") == 0.0
    })
    .await;
    assert_eq!(m.get("alcove_breakout_rooms_destroyed_total"), 2.0);
    assert_eq!(m.get("alcove_member_moves_total"), 4.0);
    assert_eq!(
        m.get("alcove_operations_total{op=\"destroyAllBreakOutSession\",result=\"0\"}"),
        1.0
    );
    assert_eq!(
        m.get("alcove_clients{location=\"parent\",role=\"participant\"}"),
        2.0
    );

    // A dropped connection resumes: counted once, and the client is still counted once.
    cem.room.drop_connection();
    let mut state = cem.room.connection_state();
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            if *state.borrow_and_update() == ConnectionState::Reconnected {
                break;
            }
            state.changed().await.expect("state");
        }
    })
    .await
    .expect("resumed");
    let m = scrape_until(&s, "one resume", |m| {
        m.get("alcove_resumes_total{result=\"0\"}") == 1.0
    })
    .await;
    assert_eq!(
        m.get("alcove_clients{location=\"parent\",role=\"participant\"}"),
        2.0
    );

    // Everyone leaves: the family ends.
    for p in [&ada, &ben, &cem] {
        p.room.close().await;
    }
    drop(_vic);
    let m = scrape_until(&s, "family gone", |m| m.get("alcove_families") == 0.0).await;
    assert_eq!(m.sum("alcove_clients", ""), 0.0, "{:#?}", m.samples);
    // The media socket's counters are on the same page.
    assert!(m.types.contains_key("alcove_udp_received_datagrams_total"));
}

/// Two participants of a new room with media; A talks until B hears it (the media went
/// through the shards); then the server's metrics.
async fn a_heard_by_b(s: &TestServer) -> Scrape {
    let room = s.room(Default::default()).await;
    let a = s.peer(&room, "A", Role::Participant).await;
    let b = s.peer(&room, "B", Role::Participant).await;
    let loopback = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let mut a_media = a.room.start_media(loopback, None).await.expect("sdp");
    let mut b_media = b.room.start_media(loopback, None).await.expect("sdp");
    assert!(a_media.wait_connected(Duration::from_secs(20)).await);
    assert!(b_media.wait_connected(Duration::from_secs(20)).await);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        a_media.send_opus(&synthetic_opus_frame(b"A:1"), -20);
        if let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(20), b_media.recv()).await {
            break;
        }
        assert!(Instant::now() < deadline, "B never heard A");
    }
    scrape(s).await
}

#[tokio::test]
async fn media_shards_count_their_datagrams() {
    let s = TestServer::start_with(tempfile::tempdir().unwrap(), |c| c.media_shards = 2).await;
    let m = a_heard_by_b(&s).await;
    let received = m.sum("alcove_media_shard_received_datagrams_total", "");
    let sent = m.sum("alcove_media_shard_transmitted_datagrams_total", "");
    assert!(received > 0.0 && sent > 0.0, "{:#?}", m.samples);
    // Per shard: both shard indices exist (one session each, least loaded first).
    for i in 0..2 {
        let key = format!("alcove_media_shard_received_datagrams_total{{shard=\"{i}\"}}");
        assert!(m.get(&key) > 0.0, "{key}: {:#?}", m.samples);
    }
    assert_eq!(
        m.types
            .get("alcove_media_shard_dropped_datagrams_total")
            .map(String::as_str),
        Some("counter")
    );
    // The shards' received datagrams are the socket's routed ones.
    assert!(m.get("alcove_udp_routed_datagrams_total") >= received);
    // B decrypted what the shard sealed itself: A's audio took the direct path only.
    let forwarded = "alcove_audio_forwarded_packets_total";
    assert!(
        m.sum(forwarded, "path=\"direct\"") > 0.0,
        "{:#?}",
        m.samples
    );
    assert_eq!(m.sum(forwarded, "path=\"str0m\""), 0.0, "{:#?}", m.samples);
}

/// `--str0m-audio-send` keeps the old send path: B still hears A, and the counter says which
/// path carried it.
#[tokio::test]
async fn str0m_audio_send_keeps_the_old_path() {
    let s =
        TestServer::start_with(tempfile::tempdir().unwrap(), |c| c.str0m_audio_send = true).await;
    let m = a_heard_by_b(&s).await;
    let forwarded = "alcove_audio_forwarded_packets_total";
    assert!(m.sum(forwarded, "path=\"str0m\"") > 0.0, "{:#?}", m.samples);
    assert_eq!(m.sum(forwarded, "path=\"direct\""), 0.0, "{:#?}", m.samples);
}

#[tokio::test]
async fn metrics_need_credentials() {
    let s = TestServer::start().await;
    let res = reqwest::Client::new()
        .get(format!("{}/metrics", s.running.http_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let admin = std::fs::read_to_string(s.dir.path().join("admin-key")).unwrap();
    let res = reqwest::Client::new()
        .get(format!("{}/metrics", s.running.http_url()))
        .bearer_auth(admin.trim())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "the admin key scrapes too");
    let res = reqwest::Client::new()
        .get(format!("{}/metrics", s.running.http_url()))
        .bearer_auth("not-the-key")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}
