//! The Rust SDK over TLS: `https://` REST and `wss://` signalling against a server whose
//! certificate a test CA signed, the SDK trusting that CA (`Tls::with_root_pem`); a break-out
//! flow and a resume over WSS; an SDK that does not trust the CA is refused.

use alcove_client::{connect, connect_tls, ConnectionState, RestClient, RestError, Tls};
use alcove_proto::api::{CreateRoomRequest, CreateTokenRequest};
use alcove_proto::signal::{JoinRole, Role, RoomDefinition};
use alcove_server::{start, Config};
use std::time::Duration;

/// A test CA and a certificate it signed for 127.0.0.1: (CA PEM, leaf PEM, leaf key PEM).
fn test_pki() -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Alcove SDK test CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &ca)
        .unwrap();
    (ca.pem(), leaf.pem(), leaf_key.serialize_pem())
}

#[tokio::test]
async fn the_sdk_speaks_https_and_wss_with_a_trusted_ca() {
    let (ca, cert, key) = test_pki();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cert.pem"), cert).unwrap();
    std::fs::write(dir.path().join("key.pem"), key).unwrap();
    let mut config = Config::new(dir.path().join("data"));
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.udp_listen = None;
    config.tls = Some((dir.path().join("cert.pem"), dir.path().join("key.pem")));
    let server = start(config).await.expect("server");
    let creds = server.credentials.clone().unwrap();
    let base = server.http_url();
    assert!(base.starts_with("https://"));

    let tls = Tls::with_root_pem(ca.as_bytes()).expect("CA parses");
    let rest = RestClient::with_tls(&base, &creds.app_id, &creds.app_key, &tls).unwrap();
    let room = rest
        .create_room(&CreateRoomRequest {
            name: "tls".into(),
            owner_ref: "t".into(),
            settings: Default::default(),
            data: serde_json::Value::Null,
        })
        .await
        .expect("REST over HTTPS");
    let token = |name: &str, role| CreateTokenRequest {
        name: name.into(),
        role,
        user_ref: String::new(),
        data: serde_json::Value::Null,
    };
    let ada = rest
        .create_token(&room.room_id, &token("Ada", Role::Moderator))
        .await
        .unwrap();
    assert!(ada.signal_url.starts_with("wss://"), "{}", ada.signal_url);
    assert_eq!(rest.signal_url(), ada.signal_url);

    // Signalling over WSS with the token answer only; a break-out flow on it.
    let (ada_room, _ada_events) = connect_tls(&ada.signal_url, &ada.token, &tls)
        .await
        .expect("WSS connect");
    let ben_t = rest
        .create_token(&room.room_id, &token("Ben", Role::Participant))
        .await
        .unwrap();
    let (ben_room, _ben_events) = connect_tls(&ben_t.signal_url, &ben_t.token, &tls)
        .await
        .unwrap();
    let def = RoomDefinition {
        participants: 2,
        audio: true,
        video: false,
        canvas: false,
        share: false,
        max_rooms: 1,
        force_join: false,
        ..RoomDefinition::default()
    };
    let ack = ada_room.create_break_out_room(&def).await.expect("create");
    let br_id = ack.msg.data().unwrap().rooms[0].clone();
    let br = ada_room
        .join_breakout_room(&br_id, JoinRole::Moderator, Default::default())
        .await
        .expect("join over WSS");
    br.disconnect().await.expect("leave");

    // A dropped WSS connection resumes over WSS with the same roots.
    ben_room.drop_connection();
    let mut state = ben_room.connection_state();
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            if *state.borrow_and_update() == ConnectionState::Reconnected {
                break;
            }
            state.changed().await.expect("state");
        }
    })
    .await
    .expect("resumed over WSS");
    ben_room
        .pause()
        .await
        .expect("requests work after the resume");

    // Without the CA: the system roots do not know it, both refuse.
    let untrusting = RestClient::new(&base, &creds.app_id, &creds.app_key);
    match untrusting.list_rooms().await {
        Err(RestError::Transport(_)) => {}
        other => panic!("an untrusted certificate must fail: {other:?}"),
    }
    let carl = rest
        .create_token(&room.room_id, &token("Carl", Role::Participant))
        .await
        .unwrap();
    assert!(
        connect(&carl.signal_url, &carl.token).await.is_err(),
        "WSS without the CA is refused"
    );
    assert!(Tls::with_root_pem(b"not a certificate").is_err());
    ada_room.close().await;
    ben_room.close().await;
    server.stop().await.unwrap();
}
