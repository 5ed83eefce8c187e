//! The OpenAPI 3 document at `/v1/openapi.json`: well-formed (every operation has responses,
//! every `$ref` resolves, every security scheme used is defined), equal to the committed
//! `docs/openapi.json` (`ALCOVE_BLESS=1` rewrites that file), and true of the running server:
//! every documented operation, called for real, answers with a status the document lists, and
//! a JSON answer holds the fields its schema requires.

mod common;

use common::TestServer;
use serde_json::{json, Value};
use std::collections::BTreeSet;

async fn fetch_doc(s: &TestServer) -> (Value, String) {
    let res = reqwest::Client::new()
        .get(format!("{}/v1/openapi.json", s.running.http_url()))
        .send()
        .await
        .expect("document");
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    (serde_json::from_str(&text).expect("JSON"), text)
}

/// Every `"$ref"` string anywhere under `v`.
fn refs(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if k == "$ref" {
                    if let Value::String(s) = x {
                        out.insert(s.clone());
                    }
                }
                refs(x, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

#[tokio::test]
async fn the_document_is_well_formed_and_committed() {
    let s = TestServer::start().await;
    let (doc, text) = fetch_doc(&s).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert_eq!(doc["info"]["title"], "Alcove REST API");
    assert!(doc["info"]["version"].is_string());
    let paths = doc["paths"].as_object().expect("paths");
    for p in [
        "/v1/rooms",
        "/v1/rooms/{room_id}",
        "/v1/rooms/{room_id}/tokens",
        "/v1/rooms/{room_id}/users",
        "/v1/rooms/{room_id}/breakout-rooms",
        "/v1/webhook",
        "/v1/admin/apps",
        "/metrics",
        "/healthz",
    ] {
        assert!(paths.contains_key(p), "{p} documented");
    }
    let schemes = doc["components"]["securitySchemes"]
        .as_object()
        .expect("security schemes");
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            assert!(METHODS.contains(&method.as_str()), "{method} {path}");
            let responses = op["responses"].as_object().expect("responses");
            assert!(!responses.is_empty(), "{method} {path} lists responses");
            for (status, r) in responses {
                assert!(status.parse::<u16>().is_ok(), "{method} {path}: {status}");
                assert!(r["description"].is_string(), "{method} {path} {status}");
            }
            for req in op["security"].as_array().into_iter().flatten() {
                for name in req.as_object().unwrap().keys() {
                    assert!(schemes.contains_key(name), "{method} {path}: scheme {name}");
                }
            }
            if path.contains('{') {
                let params = op["parameters"].as_array().expect("path parameters");
                for p in params {
                    assert_eq!(p["in"], "path");
                    assert_eq!(p["required"], true);
                    assert!(path.contains(&format!("{{{}}}", p["name"].as_str().unwrap())));
                }
            }
        }
    }
    let mut all = BTreeSet::new();
    refs(&doc, &mut all);
    assert!(!all.is_empty());
    for r in all {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("local schema ref: {r}"));
        assert!(
            doc["components"]["schemas"].get(name).is_some(),
            "{r} resolves"
        );
    }
    // The schema of the token answer has the signalling URL.
    assert!(doc["components"]["schemas"]["TokenResponse"]["properties"]
        .get("signal_url")
        .is_some());

    let committed =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
    if std::env::var_os("ALCOVE_BLESS").is_some() {
        std::fs::write(&committed, &text).expect("write docs/openapi.json");
    }
    let on_disk = std::fs::read_to_string(&committed).unwrap_or_default();
    assert!(
        on_disk == text,
        "docs/openapi.json differs from the served document (ALCOVE_BLESS=1 rewrites it)"
    );
}

/// A fields check: every `required` property of the (resolved) schema is in `body`.
fn check_required(doc: &Value, schema: &Value, body: &Value, what: &str) {
    let schema = match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r.trim_start_matches("#/components/schemas/");
            &doc["components"]["schemas"][name]
        }
        None => schema,
    };
    for f in schema["required"].as_array().into_iter().flatten() {
        let f = f.as_str().unwrap();
        assert!(body.get(f).is_some(), "{what}: required `{f}` in {body}");
    }
}

#[tokio::test]
async fn every_documented_operation_answers_as_documented() {
    let s = TestServer::start().await;
    let (doc, _) = fetch_doc(&s).await;
    let creds = s.running.credentials.clone().unwrap();
    let admin = std::fs::read_to_string(s.dir.path().join("admin-key")).unwrap();
    let admin = admin.trim().to_owned();
    let http = reqwest::Client::new();
    let base = s.running.http_url();
    let room = s.room(Default::default()).await;
    // An app to rotate and delete.
    let doomed = http
        .post(format!("{base}/v1/admin/apps"))
        .bearer_auth(&admin)
        .json(&json!({"app_id": "doomed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(doomed.status(), 201);

    // Operations in an order that leaves what later ones need: deletes last.
    let mut ops: Vec<(String, String, Value)> = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            ops.push((method.clone(), path.clone(), op.clone()));
        }
    }
    ops.sort_by_key(|(m, p, _)| (m == "delete", m == "get", p.clone()));
    let mut called = 0;
    for (method, path, op) in &ops {
        let url = format!(
            "{base}{}",
            path.replace("{room_id}", room.as_str())
                .replace("{app_id}", "doomed")
        );
        let body = match (method.as_str(), path.as_str()) {
            ("post", "/v1/rooms") => Some(json!({"name": "doc", "owner_ref": "t"})),
            ("post", "/v1/rooms/{room_id}/tokens") => {
                Some(json!({"name": "Ada", "role": "moderator", "user_ref": "u"}))
            }
            ("put", "/v1/webhook") => Some(json!({"url": "http://127.0.0.1:9/hook"})),
            ("post", "/v1/admin/apps") => Some(json!({})),
            _ => None,
        };
        if op.get("requestBody").is_some_and(|b| b["required"] == true) {
            assert!(
                body.is_some(),
                "{method} {path}: a sample body in this test"
            );
        }
        let mut req = http.request(method.to_uppercase().parse().unwrap(), &url);
        let schemes: Vec<String> = op["security"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|r| r.as_object().unwrap().keys().cloned().collect::<Vec<_>>())
            .collect();
        if schemes.first().map(String::as_str) == Some("admin") {
            req = req.bearer_auth(&admin);
        } else if schemes.iter().any(|s| s == "app") {
            req = req.basic_auth(&creds.app_id, Some(&creds.app_key));
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("answered");
        let status = res.status().as_u16().to_string();
        let documented = &op["responses"][&status];
        assert!(
            documented.is_object(),
            "{method} {path} answered {status}, not a documented status"
        );
        let is_json = res
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| c.starts_with("application/json"));
        let text = res.text().await.unwrap();
        if let Some(schema) = documented["content"]["application/json"].get("schema") {
            assert!(is_json, "{method} {path}: JSON documented");
            let body: Value = serde_json::from_str(&text).expect("JSON body");
            check_required(&doc, schema, &body, &format!("{method} {path}"));
        }
        called += 1;

        // Unauthenticated calls of protected operations get a documented 401.
        if !schemes.is_empty() {
            let res = http
                .request(method.to_uppercase().parse().unwrap(), &url)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 401, "{method} {path} without credentials");
            assert!(
                op["responses"]["401"].is_object(),
                "{method} {path}: 401 documented"
            );
        }
    }
    assert!(called >= 17, "{called} operations called");
}
