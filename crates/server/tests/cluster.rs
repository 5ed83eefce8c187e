//! Cluster mode on Redis with a real `redis-server` and real `alcove` processes: the shared
//! store and the lease fencing against Redis itself, then three nodes serving one room's
//! clients through three different nodes (signalling bridged to the owner, media straight to
//! it), the seed flows, single-use tokens across nodes, failover after `kill -9` of the owner,
//! a drain on SIGTERM, and Redis restarted mid-session.

mod cluster_common;

use alcove_client::{connect, ConnectionState, Error};
use alcove_proto::signal::{Invitee, JoinRole, Location, Role, RoomDefinition};
use alcove_proto::{ErrorCode, RoomId};
use alcove_server::cluster::{Cluster, ClusterConfig};
use alcove_server::store::{RedisStore, Store};
use cluster_common::*;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const LEASE_MS: u64 = 1500;

fn def(participants: u32, rooms: u32) -> RoomDefinition {
    RoomDefinition {
        participants,
        audio: true,
        video: false,
        canvas: false,
        share: false,
        max_rooms: rooms,
        force_join: false,
        ..RoomDefinition::default()
    }
}

fn node(redis: &Arc<RedisStore>, id: &str, lease: Duration) -> Cluster {
    Cluster::new(
        &ClusterConfig {
            redis_url: String::new(),
            node_id: id.into(),
            lease,
        },
        Arc::clone(redis),
        b"secret".to_vec(),
        format!("http://{id}.invalid"),
        None,
    )
}

#[tokio::test]
async fn the_shared_store_keeps_tokens_single_use_and_a_stale_owner_cannot_write() {
    let _one = SERIAL.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let redis = Redis::start(dir.path()).await;
    // Two nodes' stores: a token used through one is used for the other.
    let a = Store::redis(&redis.url()).unwrap();
    let b = Store::redis(&redis.url()).unwrap();
    assert_eq!(a.token_secret().unwrap(), b.token_secret().unwrap());
    let exp = alcove_server::util::unix_now() + 60;
    assert!(a.use_token("jti-1", exp).unwrap());
    assert!(b.token_used("jti-1").unwrap());
    assert!(
        !b.use_token("jti-1", exp).unwrap(),
        "a replay on another node"
    );
    let creds = a.create_app("app1").unwrap();
    assert!(b.authenticate("app1", &creds.app_key).unwrap());
    assert!(matches!(
        b.create_app("app1"),
        Err(alcove_server::store::StoreError::Exists)
    ));

    // Leases and fencing.
    let store = Arc::new(RedisStore::connect(&redis.url()).unwrap());
    let lease = Duration::from_millis(400);
    let n1 = node(&store, "n1", lease);
    let n2 = node(&store, "n2", lease);
    let room = RoomId("r-fence".into());
    let l1 = n1
        .acquire(&room, false)
        .unwrap()
        .expect("n1 takes the room");
    assert!(n2.acquire(&room, false).unwrap().is_err(), "held by n1");
    assert!(n1.save_family(&room, &l1, "\"from n1\"").unwrap());
    // n1 stops renewing (partitioned): the lease expires, n2 takes the room.
    let deadline = Instant::now() + Duration::from_secs(5);
    let l2 = loop {
        if let Ok(l) = n2.acquire(&room, false).unwrap() {
            break l;
        }
        assert!(Instant::now() < deadline, "the lease never expired");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(l2.generation > l1.generation, "a new fencing generation");
    assert!(n2.save_family(&room, &l2, "\"from n2\"").unwrap());
    // The stale owner cannot write, renew or release any more.
    assert!(!n1.save_family(&room, &l1, "\"stale\"").unwrap());
    assert!(!n1.renew(&room, &l1).unwrap());
    assert!(!n1.finish(&room, &l1, None).unwrap());
    assert_eq!(
        n2.snapshot(&room).unwrap().as_deref(),
        Some("\"from n2\""),
        "the new owner's state stands"
    );
    assert_eq!(n1.owner(&room).unwrap().as_deref(), Some("n2"));

    // The registry: a node that stops reporting drops out by itself.
    n1.heartbeat().unwrap();
    n2.heartbeat().unwrap();
    let ids: Vec<String> = n1.nodes().unwrap().into_iter().map(|n| n.node_id).collect();
    assert_eq!(ids, ["n1", "n2"]);
    until(
        Duration::from_secs(6),
        "n1 expires from the registry",
        || {
            n2.heartbeat().unwrap();
            let ids: Vec<String> = n2.nodes().unwrap().into_iter().map(|n| n.node_id).collect();
            std::future::ready(ids == ["n2"])
        },
    )
    .await;

    // Redis gone: errors within the timeout, never a hang or a panic; back when it is.
    let mut redis = redis;
    redis.kill();
    let t = Instant::now();
    let e = a.room(&room).unwrap_err();
    assert!(e.is_unavailable(), "{e}");
    assert!(t.elapsed() < Duration::from_secs(2), "fails fast");
    redis.restart().await;
    until(Duration::from_secs(5), "the store answers again", || {
        std::future::ready(a.authenticate("app1", &creds.app_key).ok() == Some(true))
    })
    .await;
}

/// Starts Redis and three nodes (n1 first: it makes the admin key and the development app).
async fn three_nodes(dir: &std::path::Path) -> (Redis, Vec<Node>) {
    let redis = Redis::start(dir).await;
    let n1 = Node::start(dir, &redis.url(), "n1", LEASE_MS).await;
    let n2 = Node::start(dir, &redis.url(), "n2", LEASE_MS).await;
    let n3 = Node::start(dir, &redis.url(), "n3", LEASE_MS).await;
    (redis, vec![n1, n2, n3])
}

#[tokio::test]
async fn clients_of_one_room_through_three_nodes_run_the_seed_flows_and_hear_each_other() {
    let _one = SERIAL.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let (_redis, nodes) = three_nodes(dir.path()).await;
    let nodes_seen = admin_get(dir.path(), &nodes[1].url(), "/v1/nodes").await;
    let ids: Vec<&str> = nodes_seen["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["node_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["n1", "n2", "n3"], "{nodes_seen}");

    // REST on any node.
    let rests: Vec<_> = nodes.iter().map(|n| rest(dir.path(), &n.url())).collect();
    let room = create_room(&rests[1], "cluster").await;
    assert_eq!(host_of(dir.path(), &nodes[0].url(), &room).await, None);
    let mut peers = Vec::new();
    for (i, (name, role)) in [
        ("M", Role::Moderator),
        ("A", Role::Participant),
        ("B", Role::Participant),
    ]
    .into_iter()
    .enumerate()
    {
        // The token minted by one node, the client connected through another.
        let t = token(&rests[(i + 1) % 3], &room, name, role).await;
        let (r, events) = connect(&nodes[i].signal_url(), &t)
            .await
            .unwrap_or_else(|e| panic!("{name} connects through {}: {e}", nodes[i].name));
        let mut media = r.start_media(LOOPBACK, None).await.expect("sdp negotiated");
        assert!(
            media.wait_connected(Duration::from_secs(20)).await,
            "{name}: ICE + DTLS up with the owner node"
        );
        peers.push((r, events, media));
    }
    // Every node says the same host; it is one of them.
    let host = host_of(dir.path(), &nodes[0].url(), &room)
        .await
        .expect("hosted");
    for n in &nodes {
        assert_eq!(
            host_of(dir.path(), &n.url(), &room).await.as_deref(),
            Some(&*host)
        );
    }
    assert!(["n1", "n2", "n3"].contains(&host.as_str()));
    // The two other nodes served their client through a bridge to the host.
    for n in &nodes {
        assert_eq!(
            n.log_text().contains("bridged"),
            n.name != host,
            "{} bridged iff it does not host the room",
            n.name
        );
    }
    // REST queries about the live family answer on every node.
    for r in &rests {
        assert_eq!(r.users(&room).await.unwrap().len(), 3);
    }

    let [(m, _me, mut m_media), (a, mut a_events, mut a_media), (b, _be, mut b_media)] =
        <[_; 3]>::try_from(peers).ok().unwrap();
    hear_exactly(
        &mut [
            (&mut m_media, "M", &["A", "B"]),
            (&mut a_media, "A", &["M", "B"]),
            (&mut b_media, "B", &["M", "A"]),
        ],
        "everyone in the parent",
        Duration::from_secs(20),
    )
    .await;

    // Seed flows: create, invite (forced and not), join, hear only the room-mate, leave,
    // destroy.
    let rooms = m
        .create_break_out_room(&def(2, 2))
        .await
        .unwrap()
        .msg
        .data()
        .unwrap()
        .rooms
        .clone();
    assert_eq!(rooms.len(), 2);
    m.invite_to_break_out_room(&Invitee {
        clients: vec![a.client_id().clone()],
        room_id: rooms[0].clone(),
        force_join: true,
    })
    .await
    .unwrap();
    a_events
        .wait_for(Duration::from_secs(10), |f| {
            f.msg.type_name() == "connectedBreakoutRoom"
        })
        .await
        .expect("A is moved (its node relays the forced join)");
    m.invite_to_break_out_room(&Invitee {
        clients: vec![b.client_id().clone()],
        room_id: rooms[0].clone(),
        force_join: false,
    })
    .await
    .unwrap();
    let b_br = b
        .join_breakout_room(&rooms[0], JoinRole::Participant, Default::default())
        .await
        .expect("B accepts its invitation");
    hear_exactly(
        &mut [
            (&mut m_media, "M", &[]),
            (&mut a_media, "A", &["B"]),
            (&mut b_media, "B", &["A"]),
        ],
        "A and B in their break-out room",
        Duration::from_secs(20),
    )
    .await;
    let users = rests[2].users(&room).await.unwrap();
    let loc = |id: &alcove_proto::ClientId| {
        users
            .iter()
            .find(|u| &u.client_id == id)
            .unwrap()
            .location
            .clone()
    };
    assert_eq!(loc(a.client_id()), Location::Breakout(rooms[0].clone()));
    assert_eq!(loc(b.client_id()), Location::Breakout(rooms[0].clone()));

    b_br.disconnect()
        .await
        .expect("B leaves its break-out room");
    hear_exactly(
        &mut [
            (&mut m_media, "M", &["B"]),
            (&mut a_media, "A", &[]),
            (&mut b_media, "B", &["M"]),
        ],
        "B back in the parent",
        Duration::from_secs(20),
    )
    .await;
    let ack = m.destroy_all_break_out_session().await.unwrap();
    assert_eq!(ack.result, 0);
    hear_exactly(
        &mut [
            (&mut m_media, "M", &["A", "B"]),
            (&mut a_media, "A", &["M", "B"]),
            (&mut b_media, "B", &["M", "A"]),
        ],
        "everyone back in the parent",
        Duration::from_secs(20),
    )
    .await;

    // A token is single use across the cluster: used through n1, replayed through n2 and n3.
    let t = token(&rests[0], &room, "C", Role::Participant).await;
    let (c, _ce) = connect(&nodes[0].signal_url(), &t)
        .await
        .expect("C connects");
    for n in &nodes[1..] {
        match connect(&n.signal_url(), &t).await {
            Err(Error::Refused { result, .. }) => {
                assert_eq!(
                    result,
                    ErrorCode::TokenReused.code(),
                    "replay through {}",
                    n.name
                )
            }
            other => panic!("replay through {}: {:?}", n.name, other.map(|_| ())),
        }
    }
    c.close().await;

    // Deleting the room through a node that does not host it ends the live family.
    let other = nodes.iter().find(|n| n.name != host).unwrap();
    rest(dir.path(), &other.url())
        .delete_room(&room)
        .await
        .expect("delete through a non-owner");
    for r in [&m, &a, &b] {
        let mut st = r.connection_state();
        tokio::time::timeout(
            Duration::from_secs(10),
            st.wait_for(|s| *s == ConnectionState::Closed),
        )
        .await
        .expect("the room ended for every client")
        .unwrap();
    }
}

/// Waits (deadline 30 s) until `r` is connected again after a drop.
async fn wait_reconnected(r: &alcove_client::Room, who: &str) {
    let mut st = r.connection_state();
    let ok = tokio::time::timeout(
        Duration::from_secs(30),
        st.wait_for(|s| *s == ConnectionState::Reconnected),
    )
    .await
    .is_ok_and(|r| r.is_ok());
    assert!(ok, "{who} never resumed: now {:?}", *st.borrow());
}

/// A room with a moderator M in the parent and A, B forced into one break-out room, every
/// client connected through `url` with media on.
struct Family {
    room: RoomId,
    br: RoomId,
    clients: Vec<(
        alcove_client::Room,
        alcove_client::Events,
        alcove_client::media::Media,
    )>,
}

async fn family(rest: &alcove_client::RestClient, url: &str, name: &str) -> Family {
    let room = create_room(rest, name).await;
    let mut clients = Vec::new();
    for (who, role) in [
        ("M", Role::Moderator),
        ("A", Role::Participant),
        ("B", Role::Participant),
    ] {
        let t = token(rest, &room, who, role).await;
        let (r, events) = connect(url, &t).await.expect("connect through the front");
        let mut media = r.start_media(LOOPBACK, None).await.expect("sdp");
        assert!(
            media.wait_connected(Duration::from_secs(20)).await,
            "{who}: media up"
        );
        clients.push((r, events, media));
    }
    let br = clients[0]
        .0
        .create_break_out_room(&def(2, 1))
        .await
        .unwrap()
        .msg
        .data()
        .unwrap()
        .rooms[0]
        .clone();
    clients[0]
        .0
        .invite_to_break_out_room(&Invitee {
            clients: vec![
                clients[1].0.client_id().clone(),
                clients[2].0.client_id().clone(),
            ],
            room_id: br.clone(),
            force_join: true,
        })
        .await
        .unwrap();
    Family { room, br, clients }
}

impl Family {
    /// A and B hear each other in their break-out room, M hears neither. How long until then.
    async fn hear(&mut self, what: &str) -> Duration {
        let [(_, _, m), (_, _, a), (_, _, b)] = &mut self.clients[..] else {
            unreachable!()
        };
        hear_exactly(
            &mut [(m, "M", &[]), (a, "A", &["B"]), (b, "B", &["A"])],
            what,
            Duration::from_secs(25),
        )
        .await
    }

    /// Every client is back, with the same id, where it was.
    async fn check_places(&self, rest: &alcove_client::RestClient) {
        let users = rest.users(&self.room).await.unwrap();
        assert_eq!(users.len(), 3, "nobody lost: {users:?}");
        for (i, (r, _, _)) in self.clients.iter().enumerate() {
            let u = users
                .iter()
                .find(|u| &u.client_id == r.client_id())
                .expect("same client id");
            let want = if i == 0 {
                Location::Parent
            } else {
                Location::Breakout(self.br.clone())
            };
            assert_eq!(u.location, want, "{} is where it was", u.name);
        }
    }

    async fn wait_reconnected(&self) {
        for (r, _, _) in &self.clients {
            wait_reconnected(r, r.client_id().as_str()).await;
        }
    }
}

#[tokio::test]
async fn after_kill_9_of_the_owner_every_client_is_back_in_its_room_hearing_its_room_mates() {
    let _one = SERIAL.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let (_redis, mut nodes) = three_nodes(dir.path()).await;
    let front = Front::start(&nodes.iter().map(|n| n.http).collect::<Vec<_>>()).await;
    let rest = rest(dir.path(), &front.url());
    let mut f = family(&rest, &front.signal_url(), "failover").await;
    // The break-out room ends in 10 minutes: the timer must survive the failover.
    f.clients[0]
        .0
        .set_breakout_duration(&f.br, Some(600), None)
        .await
        .unwrap();
    f.hear("before the failover").await;
    f.check_places(&rest).await;
    let ends_at = rest.breakout_rooms(&f.room).await.unwrap()[0]
        .ends_at
        .expect("a timer");
    let host = host_of(dir.path(), &front.url(), &f.room).await.unwrap();

    let owner = nodes.iter().position(|n| n.name == host).unwrap();
    front.remove(nodes[owner].http);
    let killed = Instant::now();
    nodes[owner].kill9();
    f.wait_reconnected().await;
    let heard = f.hear("after the failover").await;
    let back = killed.elapsed();
    println!(
        "kill -9 of the owner → room heard again: {} ms (lease {LEASE_MS} ms; the last window of 500 ms included, {} ms of listening)",
        back.as_millis(),
        heard.as_millis()
    );
    f.check_places(&rest).await;
    let after = rest.breakout_rooms(&f.room).await.unwrap()[0]
        .ends_at
        .expect("the timer survived");
    assert!(
        after.abs_diff(ends_at) <= 1000,
        "the room still ends when it did: {ends_at} before, {after} after"
    );
    let new_host = host_of(dir.path(), &front.url(), &f.room).await.unwrap();
    assert_ne!(new_host, host, "another node holds the family");
    // The moderator still moderates the restored family.
    let ack = f.clients[0]
        .0
        .destroy_all_break_out_session()
        .await
        .unwrap();
    assert_eq!(ack.result, 0);
}

#[tokio::test]
async fn sigterm_drains_a_node_with_three_live_families_and_none_is_lost() {
    let _one = SERIAL.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let redis = Redis::start(dir.path()).await;
    // n1 alone at first: it holds every family.
    let mut n1 = Node::start(dir.path(), &redis.url(), "n1", LEASE_MS).await;
    let front = Front::start(&[n1.http]).await;
    let rest = rest(dir.path(), &front.url());
    let mut families = Vec::new();
    for i in 0..3 {
        families.push(family(&rest, &front.signal_url(), &format!("drain-{i}")).await);
    }
    for f in &families {
        assert_eq!(
            host_of(dir.path(), &front.url(), &f.room).await.as_deref(),
            Some("n1")
        );
    }
    let n2 = Node::start(dir.path(), &redis.url(), "n2", LEASE_MS).await;
    let n3 = Node::start(dir.path(), &redis.url(), "n3", LEASE_MS).await;
    front.add(n2.http);
    front.add(n3.http);
    // The balancer stops sending n1 new connections; then n1 is told to stop.
    front.remove(n1.http);
    let t = Instant::now();
    n1.sigterm();
    let status = n1.wait_exit(Duration::from_secs(20)).await;
    let drained = t.elapsed();
    assert!(
        status.is_some_and(|s| s.success()),
        "n1 exits cleanly after its drain: {status:?}\n{}",
        n1.log_text()
    );
    for f in &families {
        f.wait_reconnected().await;
    }
    let moved = t.elapsed();
    println!(
        "drain of 3 families × 3 clients: node exited after {} ms, every client resumed after {} ms",
        drained.as_millis(),
        moved.as_millis()
    );
    for f in &mut families {
        if rest.users(&f.room).await.unwrap().len() != 3 {
            eprintln!(
                "ROOM {}\nN2\n{}\nN3\n{}",
                f.room,
                n2.log_text(),
                n3.log_text()
            );
        }
        f.check_places(&rest).await;
        let host = host_of(dir.path(), &front.url(), &f.room).await;
        assert!(
            matches!(host.as_deref(), Some("n2" | "n3")),
            "moved to a live node: {host:?}\n{}\n{}",
            n2.log_text(),
            n3.log_text()
        );
        f.hear("after the drain").await;
    }
    let nodes = admin_get(dir.path(), &front.url(), "/v1/nodes").await;
    let ids: Vec<&str> = nodes["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["node_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["n2", "n3"], "n1 left the registry");
}

#[tokio::test]
async fn redis_restarted_mid_session_gives_clear_errors_then_service_resumes() {
    let _one = SERIAL.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let (mut redis, nodes) = three_nodes(dir.path()).await;
    let front = Front::start(&nodes.iter().map(|n| n.http).collect::<Vec<_>>()).await;
    let rest = rest(dir.path(), &front.url());
    let mut f = family(&rest, &front.signal_url(), "redis-restart").await;
    f.hear("before Redis goes").await;
    let spare = token(&rest, &f.room, "D", Role::Participant).await;
    let host = host_of(dir.path(), &front.url(), &f.room).await.unwrap();
    let owner = nodes.iter().find(|n| n.name == host).unwrap();

    redis.kill();
    // REST: 503 with the typed body, on every node.
    let creds: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("dev-credentials.json")).unwrap(),
    )
    .unwrap();
    for n in &nodes {
        let resp = cluster_common::http()
            .post(format!("{}/v1/rooms", n.url()))
            .basic_auth(creds["app_id"].as_str().unwrap(), creds["app_key"].as_str())
            .json(&serde_json::json!({"name": "x", "owner_ref": "y"}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 503, "{}", n.name);
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body["result"], 1138);
    }
    // Signalling: a connect is refused with 1138, the connection closed, nothing panics.
    match connect(&nodes[0].signal_url(), &spare).await {
        Err(Error::Refused { result, .. }) => assert_eq!(result, ErrorCode::Internal.code()),
        other => panic!("connect while Redis is down: {:?}", other.map(|_| ())),
    }

    // Redis stays down past the lease: the owner can no longer prove it holds the family, so
    // it stops serving it (its clients' connections drop, their SDKs keep trying to resume).
    until(
        Duration::from_secs(10),
        "the owner gives the family up",
        || std::future::ready(owner.log_text().contains("lease lost")),
    )
    .await;

    redis.restart().await;
    until(Duration::from_secs(10), "REST works again", || async {
        rest.list_rooms().await.is_ok()
    })
    .await;
    // The family is there (kept, or restored by another node after its lease ran out) and
    // everyone is in it; the spare token (never used) connects.
    until(Duration::from_secs(30), "every client is back", || async {
        rest.users(&f.room).await.map(|u| u.len()).unwrap_or(0) == 3
    })
    .await;
    f.check_places(&rest).await;
    f.hear("after Redis came back").await;
    let (d, _de) = connect(&front.signal_url(), &spare)
        .await
        .expect("a new client connects");
    assert_eq!(rest.users(&f.room).await.unwrap().len(), 4);
    d.close().await;
    for n in &nodes {
        assert!(
            !n.log_text().contains("panicked"),
            "{} did not panic",
            n.name
        );
    }
}
