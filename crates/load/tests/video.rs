//! The `video` scenario, small and short, against a server started in this process: every
//! client decodes stamped VP8 frames from every publisher but itself, and the report's numbers
//! come from them.

use alcove_load::progress::Progress;
use alcove_load::scenario::video::VideoConfig;
use alcove_load::{run, Report, Scenario, Target};
use alcove_server::{start, Config};

async fn video_run(layers: u8) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = Config::new(dir.path().to_path_buf());
    config.listen = "127.0.0.1:0".parse().expect("addr");
    config.udp_listen = Some("127.0.0.1:0".parse().expect("addr"));
    let running = start(config).await.expect("server starts");
    let creds = running.credentials.clone().expect("dev credentials");
    let target = Target::new(&running.http_url(), &creds.app_id, &creds.app_key);

    let cfg = VideoConfig {
        publishers: 2,
        receivers: 1,
        seconds: 1.5,
        warmup_secs: 1.5,
        layers,
        video_slots: 2,
        max_loss: 0.9,
        ..VideoConfig::default()
    };
    let report = run(&target, &Scenario::Video(cfg), &Progress::silent())
        .await
        .expect("the scenario runs to the end");
    let Report::Video(v) = &report else {
        panic!("video report");
    };
    let text = format!("{}\n{}", report.text(), report.checks().text());
    eprintln!("{text}");
    assert_eq!(v.connected, 3, "{text}");
    // Clients 1 and 2 publish; 1 watches 2, 2 watches 1, 3 watches both. Which layer, and
    // whether a slot gets any while the receiver's bandwidth estimate is low, is the server's
    // allocation (reported, not asserted): the scenario must show every publisher's frames
    // arriving somewhere, every receiver decoding an expected publisher, nobody itself.
    let got = |rx: u32, from: u32| {
        v.receivers
            .iter()
            .find(|r| r.index == rx)
            .map(|r| {
                r.slots
                    .iter()
                    .any(|s| s.publishers.contains(&from) && s.frames > 0)
            })
            .unwrap_or(false)
    };
    let watches: [(u32, &[u32]); 3] = [(1, &[2]), (2, &[1]), (3, &[1, 2])];
    for (rx, from) in watches {
        assert!(
            from.iter().any(|p| got(rx, *p)),
            "client {rx} decoded no frame of {from:?}\n{text}"
        );
    }
    for p in [1, 2] {
        assert!(
            (1..=3).any(|rx| rx != p && got(rx, p)),
            "nobody decoded publisher {p}\n{text}"
        );
    }
    assert!(!got(1, 1) && !got(2, 2), "nobody sees itself\n{text}");
    assert_eq!(v.tally.foreign_frames, 0, "{text}");
    assert!(v.tally.keyframes_sent.iter().sum::<u64>() > 0, "{text}");
    assert!(
        v.tally.forwarded_packets > 0 && v.tally.egress_mbps > 0.0,
        "{text}"
    );
    assert!(v.tally.latency.is_some(), "{text}");
    if layers == 3 {
        assert!(
            v.tally.frames_sent.iter().all(|n| *n > 0),
            "every layer sent\n{text}"
        );
    }
    running.stop().await.expect("server stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receivers_decode_every_publishers_simulcast_camera() {
    video_run(3).await;
}
