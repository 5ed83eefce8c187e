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
