//! The service running on a loopback socket, driven by an HTTP client:
//! tokens and scopes, our API, HMA's routes with HMA's shapes (its own
//! tests' assertions), live updates, limits, the audit chain, metrics and
//! the OpenAPI document.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{json, Value};
use server::{AppState, Scope, ServeOptions, ServiceDb};

mod support;

const PDQ_A: &str = "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22";

struct Service {
    _dir: tempfile::TempDir,
    dir: std::path::PathBuf,
    addr: std::net::SocketAddr,
    state: Arc<AppState>,
    admin: String,
    reader: String,
}

fn service(open_read: bool, max_body: usize) -> Service {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let db = ServiceDb::open(&path).unwrap();
    let (_, admin) = db.create_token(&[Scope::Admin], Some("tests")).unwrap();
    let (_, reader) = db.create_token(&[Scope::Match, Scope::Hash], None).unwrap();
    let state = Arc::new(
        AppState::open(
            &banks::Location::Dir(path.clone()),
            ServeOptions {
                open_read,
                max_body,
                log_requests: false,
                ..Default::default()
            },
        )
        .unwrap(),
    );
    let addr = support::spawn(state.clone());
    Service {
        _dir: dir,
        dir: path,
        addr,
        state,
        admin,
        reader,
    }
}

impl Service {
    async fn call(&self, method: &str, uri: &str, token: Option<&str>, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let body = match body {
            Some(v) => {
                req = req.header("content-type", "application/json");
                Body::from(v.to_string())
            }
            None => Body::empty(),
        };
        self.send(req.body(body).unwrap()).await
    }

    async fn send(&self, req: Request<Body>) -> (StatusCode, Value) {
        support::send(self.addr, req).await
    }

    async fn upload(&self, uri: &str, token: &str, field: &str, bytes: Vec<u8>) -> (StatusCode, Value) {
        let boundary = "XBOUNDARYX";
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"upload.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(&bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let req = Request::builder()
            .method("POST")
            .uri(uri)
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", format!("multipart/form-data; boundary={boundary}"))
            .body(Body::from(body))
            .unwrap();
        self.send(req).await
    }
}

fn photo(seed: u64) -> Vec<u8> {
    synth::jpeg(&synth::photo(seed, 640, 480), 90)
}

#[tokio::test]
async fn tokens_and_scopes_guard_every_route() {
    let s = service(false, 64 << 20);
    let (status, body) = s.call("GET", "/v1/banks", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, _) = s.call("GET", "/v1/banks", Some("tnt_not_a_token"), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = s
        .call("POST", "/v1/banks", Some(&s.reader), Some(json!({"name": "X"})))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a match token cannot curate");
    let (status, _) = s
        .call("POST", "/v1/banks", Some(&s.admin), Some(json!({"name": "X"})))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    // Probes never need a token.
    assert_eq!(s.call("GET", "/status/live", None, None).await.0, StatusCode::OK);
    assert_eq!(s.call("GET", "/status", None, None).await.1, "I-AM-ALIVE");

    // With --open-read, reads pass and changes still need a token.
    let open = service(true, 64 << 20);
    let (status, _) = open
        .call("POST", "/v1/match", None, Some(json!({"queries": [{"pdq": PDQ_A}]})))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = open.call("POST", "/v1/banks", None, Some(json!({"name": "X"}))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn v1_hash_match_and_live_curation() {
    let s = service(false, 64 << 20);
    s.call("POST", "/v1/banks", Some(&s.admin), Some(json!({"name": "flagged"})))
        .await;
    let image = photo(1);
    let (status, hashed) = s.upload("/v1/hash", &s.reader, "file", image.clone()).await;
    assert_eq!(status, StatusCode::OK, "{hashed}");
    assert_eq!(hashed["kind"], "image");
    let pdq = hashed["pdq"].as_str().unwrap().to_string();
    let md5 = hashed["md5"].as_str().unwrap().to_string();

    // Added through the API: matched as soon as the call returns, with the entry's details.
    let (status, added) = s
        .call(
            "POST",
            "/v1/banks/flagged/entries",
            Some(&s.admin),
            Some(json!({"entries": [
                {"signal": "pdq", "hash": pdq, "categories": ["caid:A"], "external_id": "case-7"},
                {"signal": "md5", "hash": md5}
            ]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{added}");
    assert_eq!(added["added"], 2);
    let (_, matched) = s.upload("/v1/match/upload", &s.reader, "file", image.clone()).await;
    let hits = matched["hits"].as_array().unwrap();
    assert_eq!(hits.len(), 2, "{matched}");
    let pdq_hit = hits.iter().find(|h| h["signal"] == "pdq").unwrap();
    assert_eq!(pdq_hit["distance"], 0);
    assert_eq!(pdq_hit["categories"], json!(["caid:A"]));
    assert_eq!(pdq_hit["external_id"], "case-7");

    // A batch: a near copy, a stranger, a bad hash.
    let near = media::analyze_bytes(
        &synth::jpeg(&synth::photo(1, 640, 480), 40),
        None,
        &Default::default(),
        &mut pdq::Hasher::new(),
    )
    .pdq
    .unwrap()
    .hash
    .to_hex();
    let (_, batch) = s
        .call(
            "POST",
            "/v1/match",
            Some(&s.reader),
            Some(json!({"queries": [{"pdq": near}, {"pdq": PDQ_A}]})),
        )
        .await;
    assert_eq!(batch["results"][0]["hits"].as_array().unwrap().len(), 1);
    assert!(batch["results"][1]["hits"].as_array().unwrap().is_empty());
    let (status, _) = s
        .call(
            "POST",
            "/v1/match",
            Some(&s.reader),
            Some(json!({"queries": [{"pdq": "xyz"}]})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Withdrawn: stops matching at once.
    let id = pdq_hit["entry_id"].as_u64().unwrap();
    let (status, _) = s
        .call("DELETE", &format!("/v1/entries/{id}"), Some(&s.admin), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, matched) = s.upload("/v1/match/upload", &s.reader, "file", image).await;
    assert!(matched["hits"].as_array().unwrap().iter().all(|h| h["signal"] != "pdq"));

    // Bulk import and export.
    let list = format!("md5\n{}\n{}\n", "0".repeat(32), "1".repeat(32));
    let req = Request::builder()
        .method("POST")
        .uri("/v1/banks/flagged/import?format=csv&category=list:bulk")
        .header("authorization", format!("Bearer {}", s.admin))
        .body(Body::from(list))
        .unwrap();
    let (status, report) = s.send(req).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["added"], 2);
    let req = Request::builder()
        .uri("/v1/banks/flagged/export?format=plain")
        .header("authorization", format!("Bearer {}", s.admin))
        .body(Body::empty())
        .unwrap();
    let (status, exported) = s.send(req).await;
    assert_eq!(status, StatusCode::OK);
    let text = exported.as_str().unwrap();
    assert!(text.contains(&"1".repeat(32)) && text.contains(&md5));

    // Every change is in the audit chain, and the chain holds.
    let records = ServiceDb::open(&s.dir).unwrap().audit_records().unwrap();
    let actions: Vec<&str> = records.iter().map(|r| r.action.as_str()).collect();
    assert!(actions.contains(&"bank.create") && actions.contains(&"entries.add"));
    assert!(actions.contains(&"entry.delete") && actions.contains(&"bank.import"));
    assert!(ServiceDb::open(&s.dir).unwrap().verify_audit().unwrap().is_ok());
}

#[tokio::test]
async fn uploads_over_the_limit_get_413() {
    let s = service(false, 1 << 20);
    let (status, _) = s.upload("/v1/hash", &s.reader, "file", vec![7u8; 2 << 20]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let req = Request::builder()
        .method("POST")
        .uri("/v1/hash")
        .header("authorization", format!("Bearer {}", s.reader))
        .body(Body::from(vec![7u8; 2 << 20]))
        .unwrap();
    assert_eq!(s.send(req).await.0, StatusCode::PAYLOAD_TOO_LARGE);
}

/// HMA's own end-to-end test and API tests, replayed: the same requests
/// give the same statuses and shapes.
#[tokio::test]
async fn hma_routes_answer_as_hma_does() {
    let s = service(false, 64 << 20);
    let t = Some(s.admin.as_str());
    assert_eq!(s.call("GET", "/c/banks", t, None).await.1, json!([]));
    let (status, _) = s
        .call("POST", "/c/banks", t, Some(json!({"name": "01_TEST_BANK"})))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = s
        .call("POST", "/c/banks", t, Some(json!({"name": "my_test_bank"})))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, created) = s.call("POST", "/c/banks", t, Some(json!({"name": "TEST_BANK"}))).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(created, json!({"matching_enabled_ratio": 1.0, "name": "TEST_BANK"}));
    assert_eq!(
        s.call("POST", "/c/banks", t, Some(json!({"name": "TEST_BANK"})))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let (status, body) = s.call("POST", "/c/banks", t, Some(json!({}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.is_array());

    // 16 PDQ signals, as test_e2e_workflow adds them: ids 1..16.
    let mut hashes = Vec::new();
    for i in 0..16u64 {
        let h = media::analyze_bytes(&photo(100 + i), None, &Default::default(), &mut pdq::Hasher::new())
            .pdq
            .unwrap()
            .hash
            .to_hex();
        let (status, added) = s
            .call("POST", "/c/bank/TEST_BANK/signal", t, Some(json!({"pdq": h})))
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(added, json!({"id": i + 1, "signals": {"pdq": h}}));
        hashes.push(h);
    }
    let (_, status) = s.call("GET", "/m/index/status?signal_type=pdq", t, None).await;
    assert_eq!(status["pdq"]["present"], true);
    assert_eq!(status["pdq"]["size"], 16);
    let (_, found) = s
        .call(
            "GET",
            &format!("/m/lookup?signal={}&signal_type=pdq", hashes[15]),
            t,
            None,
        )
        .await;
    assert_eq!(found, json!({"TEST_BANK": [{"bank_content_id": 16, "distance": "0"}]}));
    let (_, none) = s
        .call(
            "GET",
            &format!("/m/lookup?signal={}&signal_type=pdq", "5".repeat(64)),
            t,
            None,
        )
        .await;
    assert_eq!(none, json!({}));
    let (_, raw) = s
        .call(
            "GET",
            &format!("/m/raw_lookup?signal={}&signal_type=pdq", hashes[0]),
            t,
            None,
        )
        .await;
    assert_eq!(raw, json!({"matches": [1]}));
    let (status, _) = s.call("GET", "/m/raw_lookup?signal_type=pdq", t, None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, body) = s.call("GET", "/m/raw_lookup?signal=abc&signal_type=pdq", t, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["message"], "invalid signal: invalid PDQ hash");

    // Upload lookups take the content type as the field name.
    let (status, by_upload) = s.upload("/m/lookup", &s.admin, "photo", photo(103)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(by_upload["pdq"]["TEST_BANK"][0]["bank_content_id"], 4);
    let (status, hashed) = s.upload("/h/hash", &s.admin, "photo", photo(103)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(hashed, json!({"pdq": hashes[3]}));
    let (status, _) = s.upload("/h/hash", &s.admin, "file", photo(103)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "the field names the content type");

    // compare: distances are integers here.
    let (_, cmp) = s
        .call("POST", "/m/compare", t, Some(json!({"pdq": [hashes[0], hashes[0]]})))
        .await;
    assert_eq!(cmp, json!({"pdq": [true, {"distance": 0}]}));
    for bad in [
        json!(["banana"]),
        json!({"pdq": "banana"}),
        json!({"pdq": []}),
        json!({"pdq": ["banana", "banana"]}),
    ] {
        assert_eq!(
            s.call("POST", "/m/compare", t, Some(bad)).await.0,
            StatusCode::BAD_REQUEST
        );
    }

    // Content: note, disable, get shapes, delete.
    let (_, with_note) = s
        .call(
            "POST",
            "/c/bank/TEST_BANK/signal",
            t,
            Some(json!({"video_md5": " D41D8CD98F00B204E9800998ECF8427E ", "note": "from campaign ABC"})),
        )
        .await;
    assert_eq!(with_note["signals"]["video_md5"], "d41d8cd98f00b204e9800998ecf8427e");
    let id = with_note["id"].as_u64().unwrap();
    let (_, content) = s
        .call(
            "GET",
            &format!("/c/bank/TEST_BANK/content/{id}?include_signals=true"),
            t,
            None,
        )
        .await;
    assert_eq!(content["note"], "from campaign ABC");
    assert_eq!(content["disable_until_ts"], 1);
    assert_eq!(content["bank"]["name"], "TEST_BANK");
    let (_, md5_hit) = s
        .call(
            "GET",
            "/m/lookup?signal=d41d8cd98f00b204e9800998ecf8427e&signal_type=video_md5",
            t,
            None,
        )
        .await;
    assert_eq!(md5_hit["TEST_BANK"][0]["distance"], "-");
    let (status, _) = s
        .call(
            "PUT",
            "/c/bank/TEST_BANK/content/1",
            t,
            Some(json!({"disable_until_ts": 0})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, disabled) = s
        .call(
            "GET",
            &format!("/m/lookup?signal={}&signal_type=pdq", hashes[0]),
            t,
            None,
        )
        .await;
    assert_eq!(disabled, json!({}), "disabled content is not matched by lookup");
    let (_, raw) = s
        .call(
            "GET",
            &format!("/m/raw_lookup?signal={}&signal_type=pdq", hashes[0]),
            t,
            None,
        )
        .await;
    assert_eq!(raw, json!({"matches": [1]}), "raw_lookup ignores enablement");
    let (status, _) = s
        .call(
            "PUT",
            "/c/bank/TEST_BANK/content/1",
            t,
            Some(json!({"disable_until_ts": 9_999_999_999i64})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, deleted) = s.call("DELETE", "/c/bank/TEST_BANK/content/2", t, None).await;
    assert_eq!(deleted, json!({"deleted": 1}));
    let (status, _) = s.call("GET", "/c/bank/TEST_BANK/content/2", t, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, deleted) = s.call("DELETE", "/c/bank/TEST_BANK/content/2", t, None).await;
    assert_eq!(deleted, json!({"deleted": 0}));

    // Ratio 0: never matched by a lookup unless the POST bypasses the coinflip.
    let (_, renamed) = s
        .call(
            "PUT",
            "/c/bank/TEST_BANK",
            t,
            Some(json!({"name": "RENAMED", "enabled": false})),
        )
        .await;
    assert_eq!(renamed, json!({"matching_enabled_ratio": 0.0, "name": "RENAMED"}));
    let (_, off) = s
        .call(
            "GET",
            &format!("/m/lookup?signal={}&signal_type=pdq", hashes[5]),
            t,
            None,
        )
        .await;
    assert_eq!(off, json!({}));
    let (_, raw) = s
        .call(
            "GET",
            &format!("/m/raw_lookup?signal={}&signal_type=pdq", hashes[5]),
            t,
            None,
        )
        .await;
    assert_eq!(raw, json!({"matches": [6]}), "the rename keeps content ids");
    let (_, bypass) = s
        .upload("/m/lookup?bypass_coinflip=true", &s.admin, "photo", photo(105))
        .await;
    assert_eq!(bypass["pdq"]["RENAMED"][0]["bank_content_id"], 6);
    assert_eq!(
        s.call("GET", "/c/bank/TEST_BANK", t, None).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        s.call("DELETE", "/c/bank/NOPE", t, None).await.1,
        json!({"message": "Done"})
    );
    assert_eq!(
        s.call("DELETE", "/c/bank/RENAMED", t, None).await.1,
        json!({"message": "Done"})
    );
    assert_eq!(s.call("GET", "/c/banks", t, None).await.1, json!([]));
}

#[tokio::test]
async fn changes_by_other_processes_reach_the_live_index() {
    let s = service(false, 64 << 20);
    // Another process (the CLI) imports into the same store.
    let mut store = banks::Store::open(&s.dir).unwrap();
    store.create_bank("cli", &Default::default()).unwrap();
    let entries = banks::formats::read(
        banks::Format::Plain,
        Box::new(std::io::Cursor::new(format!("pdq {PDQ_A}\n").into_bytes())),
        Default::default(),
    );
    store.import("cli", entries).unwrap();
    let query = json!({"queries": [{"pdq": PDQ_A}]});
    let (_, before) = s.call("POST", "/v1/match", Some(&s.reader), Some(query.clone())).await;
    assert!(
        before["results"][0]["hits"].as_array().unwrap().is_empty(),
        "not yet synced"
    );
    s.state.sync().unwrap(); // what the service's timer does every second
    let (_, after) = s.call("POST", "/v1/match", Some(&s.reader), Some(query)).await;
    assert_eq!(after["results"][0]["hits"][0]["bank"], "cli");
}

#[tokio::test]
async fn a_large_batch_of_changes_is_compacted_and_still_matches() {
    let s = service(false, 64 << 20);
    let mut store = banks::Store::open(&s.dir).unwrap();
    store.create_bank("bulk", &Default::default()).unwrap();
    // More additions than the index keeps pending before it asks to be compacted.
    let count = index::DELTA_MERGE_AT as u32 + 100;
    let list: String = (0..count)
        .map(|n| {
            let mut bytes = [0x33u8; 32];
            bytes[..4].copy_from_slice(&n.to_be_bytes());
            format!("pdq {}\n", pdq::Hash256::from_bytes(bytes).to_hex())
        })
        .collect();
    let entries = banks::formats::read(
        banks::Format::Plain,
        Box::new(std::io::Cursor::new(list.into_bytes())),
        Default::default(),
    );
    store.import("bulk", entries).unwrap();
    s.state.sync().unwrap();
    let status = s.state.index_status();
    assert_eq!(status["compactions"], 1, "{status}");
    assert_eq!(status["pdq_entries"], count as u64);
    let mut last = [0x33u8; 32];
    last[..4].copy_from_slice(&(count - 1).to_be_bytes());
    let query = json!({"queries": [{"pdq": pdq::Hash256::from_bytes(last).to_hex()}]});
    let (_, found) = s.call("POST", "/v1/match", Some(&s.reader), Some(query)).await;
    assert_eq!(found["results"][0]["hits"][0]["distance"], 0, "{found}");
}

#[tokio::test]
async fn metrics_and_openapi_describe_the_service() {
    let s = service(true, 64 << 20);
    s.call("POST", "/v1/match", None, Some(json!({"queries": [{"pdq": PDQ_A}]})))
        .await;
    let (_, metrics) = s.call("GET", "/metrics", None, None).await;
    let text = metrics.as_str().unwrap();
    assert!(text.contains("tantalum_requests_total{route=\"/v1/match\",method=\"POST\",status=\"200\"} 1"));
    assert!(text.contains("tantalum_request_duration_seconds_bucket{route=\"/v1/match\""));
    assert!(text.contains("tantalum_index_entries 0") && text.contains("process_resident_memory_bytes"));
    let anonymous = text
        .lines()
        .find_map(|l| l.strip_prefix("tantalum_memory_anonymous_bytes "))
        .and_then(|v| v.parse::<u64>().ok())
        .expect("anonymous memory gauge");
    if std::path::Path::new("/proc/self/status").exists() {
        assert!(anonymous > 0, "RssAnon is read from /proc");
    }
    let (_, doc) = s.call("GET", "/openapi.json", None, None).await;
    for path in [
        "/v1/hash",
        "/v1/match",
        "/v1/banks/{name}/import",
        "/v1/entries/{id}",
        "/m/raw_lookup",
        "/m/lookup",
        "/c/bank/{name}/content/{id}",
        "/h/hash",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} documented");
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    assert!(doc["paths"]["/m/lookup"]["get"].is_object() && doc["paths"]["/m/lookup"]["post"].is_object());
}

/// The OpenAPI schema a `$ref` (or an array of one) names.
fn schema<'a>(doc: &'a Value, node: &'a Value) -> &'a Value {
    let node = if node["type"] == "array" { &node["items"] } else { node };
    match node["$ref"].as_str() {
        Some(r) => &doc["components"]["schemas"][r.trim_start_matches("#/components/schemas/")],
        None => node,
    }
}

fn property_names(schema: &Value) -> Vec<String> {
    let mut names: Vec<String> = schema["properties"]
        .as_object()
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    names.sort();
    names
}

/// HMA's bodies are read by hand (for HMA's exact errors), so the document
/// is checked against the handlers: each documented request body is sent as
/// documented (its example, or its fields) and must be accepted, and each
/// answer must have exactly the documented fields.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documented_hma_bodies_are_what_the_routes_take_and_give() {
    let s = service(false, 64 << 20);
    let t = Some(s.admin.as_str());
    let (_, doc) = s.call("GET", "/openapi.json", None, None).await;
    let request = |path: &str, method: &str| -> (String, Value) {
        let body = &doc["paths"][path][method]["requestBody"]["content"];
        let (content_type, media) = body
            .as_object()
            .and_then(|m| m.iter().next())
            .unwrap_or_else(|| panic!("{method} {path}: no documented request body"));
        (content_type.clone(), schema(&doc, &media["schema"]).clone())
    };
    let response = |path: &str, method: &str, status: &str| -> Value {
        let node = &doc["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"];
        assert!(!node.is_null(), "{method} {path} {status}: no documented body");
        schema(&doc, node).clone()
    };
    for (path, method) in [
        ("/m/lookup", "post"),
        ("/h/hash", "post"),
        ("/c/bank/{name}/content", "post"),
    ] {
        let (content_type, body) = request(path, method);
        assert_eq!(content_type, "multipart/form-data", "{method} {path}");
        assert!(
            property_names(&body).contains(&"photo".to_string()),
            "{method} {path}: {body}"
        );
    }

    let (content_type, create) = request("/c/banks", "post");
    assert_eq!(content_type, "application/json");
    assert_eq!(property_names(&create), ["enabled", "enabled_ratio", "name"]);
    let (status, bank) = s
        .call(
            "POST",
            "/c/banks",
            t,
            Some(json!({"name": "DOC_BANK", "enabled_ratio": 0.5})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let bank_fields = property_names(&response("/c/banks", "post", "201"));
    assert_eq!(property_names(&json!({"properties": bank})), bank_fields);
    let (status, body) = s.call("POST", "/c/banks", t, Some(json!({"name": "DOC_BANK"}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        property_names(&json!({"properties": body})),
        property_names(&response("/c/banks", "post", "403"))
    );

    let (_, update) = request("/c/bank/{name}", "put");
    assert_eq!(property_names(&update), ["enabled", "enabled_ratio", "name"]);
    let (status, bank) = s
        .call("PUT", "/c/bank/DOC_BANK", t, Some(json!({"enabled": false})))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bank["matching_enabled_ratio"], json!(0.0));
    assert_eq!(property_names(&json!({"properties": bank})), bank_fields);

    let (_, signal) = request("/c/bank/{name}/signal", "post");
    let example = signal["example"].clone();
    assert!(example["pdq"].is_string(), "{signal}");
    let (status, added) = s
        .call("POST", "/c/bank/DOC_BANK/signal", t, Some(example.clone()))
        .await;
    assert_eq!(status, StatusCode::OK, "{added}");
    assert_eq!(
        property_names(&json!({"properties": added})),
        property_names(&response("/c/bank/{name}/signal", "post", "200"))
    );
    assert_eq!(added["signals"]["pdq"], example["pdq"]);
    let id = added["id"].as_u64().unwrap();

    let (_, put) = request("/c/bank/{name}/content/{id}", "put");
    assert_eq!(property_names(&put), ["disable_until_ts", "note"]);
    let (status, content) = s
        .call(
            "PUT",
            &format!("/c/bank/DOC_BANK/content/{id}"),
            t,
            Some(json!({"note": "documented", "disable_until_ts": 0})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{content}");
    let content_fields = property_names(&response("/c/bank/{name}/content/{id}", "put", "200"));
    for field in property_names(&json!({"properties": content})) {
        assert!(content_fields.contains(&field), "PUT content gave undocumented {field}");
    }
    let (_, content) = s
        .call(
            "GET",
            &format!("/c/bank/DOC_BANK/content/{id}?include_signals=true"),
            t,
            None,
        )
        .await;
    for field in property_names(&json!({"properties": content})) {
        assert!(content_fields.contains(&field), "GET content gave undocumented {field}");
    }
    assert_eq!(content["note"], "documented");

    let (_, compare) = request("/m/compare", "post");
    let (status, compared) = s.call("POST", "/m/compare", t, Some(compare["example"].clone())).await;
    assert_eq!(status, StatusCode::OK, "{compared}");
    assert_eq!(compared["pdq"], json!([true, {"distance": 1}]));
    assert_eq!(compared, response("/m/compare", "post", "200")["example"]);
}

mod never_panics {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
        /// Arbitrary paths, queries and bodies on every route: an answer, never a panic or a 500.
        #[test]
        fn any_request_gets_a_clean_answer(
            route in prop::sample::select(vec![
                "/v1/hash", "/v1/match", "/v1/match/upload", "/v1/banks", "/v1/banks/X", "/v1/banks/X/entries",
                "/v1/banks/X/import", "/v1/entries/1", "/m/raw_lookup", "/m/lookup", "/m/compare",
                "/m/index/status", "/h/hash", "/c/banks", "/c/bank/X", "/c/bank/X/signal", "/c/bank/X/content",
                "/c/bank/X/content/1",
            ]),
            method in prop::sample::select(vec!["GET", "POST", "PUT", "DELETE"]),
            query in "[a-z_=&%0-9]{0,40}",
            body in prop::collection::vec(any::<u8>(), 0..200),
            json_type in any::<bool>(),
        ) {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            let _in_runtime = runtime.enter();
            let s = service(false, 64 << 20);
            let mut req = Request::builder()
                .method(method)
                .uri(format!("{route}?{query}"))
                .header("authorization", format!("Bearer {}", s.admin));
            if json_type {
                req = req.header("content-type", "application/json");
            }
            let (status, _) = runtime.block_on(s.send(req.body(Body::from(body)).unwrap()));
            prop_assert!(status != StatusCode::INTERNAL_SERVER_ERROR || route.starts_with("/h/") || route.starts_with("/m/lookup"),
                "{method} {route}?{query}: {status}");
        }
    }
}

/// A synthetic video's vPDQ: `frames` unrelated hashes of quality 100, in the reference's text format.
fn video_text(seed: u64, frames: usize) -> String {
    vpdq::write_features(&vpdq::testing::unrelated_frames(seed, frames))
}

#[tokio::test]
async fn videos_are_matched_by_vpdq_hashes_in_either_form() {
    let s = service(false, 64 << 20);
    s.call("POST", "/v1/banks", Some(&s.admin), Some(json!({"name": "videos"})))
        .await;
    let known = video_text(1, 30);
    let req = Request::builder()
        .method("POST")
        .uri("/v1/banks/videos/import?format=vpdq")
        .header("authorization", format!("Bearer {}", s.admin))
        .body(Body::from(known.clone()))
        .unwrap();
    let (status, report) = s.send(req).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["added"], 1);

    // The same video as text and as `tantalum hash --json` objects; a
    // clip of two thirds of it; a stranger.
    let as_objects: Vec<Value> = vpdq::parse_features(&known)
        .unwrap()
        .iter()
        .map(|f| serde_json::to_value(f).unwrap())
        .collect();
    let clip: String = known.lines().take(20).map(|l| format!("{l}\n")).collect();
    let (status, batch) = s
        .call(
            "POST",
            "/v1/match",
            Some(&s.reader),
            Some(json!({"queries": [
                {"vpdq": known},
                {"vpdq": as_objects},
                {"vpdq": clip},
                {"vpdq": video_text(2, 30)}
            ]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{batch}");
    let hits = |i: usize| batch["results"][i]["hits"].as_array().unwrap().clone();
    for i in [0, 1] {
        let h = &hits(i)[0];
        assert_eq!(
            (h["bank"].as_str(), h["signal"].as_str()),
            (Some("videos"), Some("vpdq"))
        );
        assert_eq!(
            (h["query_match_pct"].as_f64(), h["target_match_pct"].as_f64()),
            (Some(100.0), Some(100.0))
        );
    }
    let h = &hits(2)[0];
    assert_eq!(h["query_match_pct"].as_f64(), Some(100.0));
    assert!(
        (h["target_match_pct"].as_f64().unwrap() - 200.0 / 3.0).abs() < 1e-9,
        "{h}"
    );
    assert!(hits(3).is_empty());

    // Unreadable vPDQ is a 400 that says where.
    for (bad, says) in [
        (json!("0,100,nothex,0.000\n"), "vpdq: line 1"),
        (
            json!([{"frame": 0, "quality": 100, "pdq": "zz", "timestamp": 0.0}]),
            "vpdq frame 1",
        ),
        (json!([]), "vpdq: no frames"),
    ] {
        let (status, body) = s
            .call(
                "POST",
                "/v1/match",
                Some(&s.reader),
                Some(json!({"queries": [{"vpdq": bad}]})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body.to_string().contains(says), "{body}");
    }
}
