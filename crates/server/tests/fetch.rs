//! HMA's `url=` over real HTTP: a local origin server (plain tokio, so it
//! can misbehave: redirect loops, huge and slow bodies) serves benign
//! generated images, and the service fetches from it under its policy.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{json, Value};
use server::{AppState, FetchPolicy, Scope, ServeOptions, ServiceDb};

mod support;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};

const CAP: usize = 2 << 20;

fn photo(seed: u64) -> Vec<u8> {
    synth::jpeg(&synth::photo(seed, 640, 480), 90)
}

/// How one streamed response went: bytes written, and whether all were.
#[derive(Debug, Default, Clone, Copy)]
struct Streamed {
    written: u64,
    finished: bool,
}

/// A local origin server (std threads: one a connection). Paths it answers:
/// `/photo.jpg`, `/photo.txt` (the photo as text/plain), `/missing` (404),
/// `/to-photo` (302 to /photo.jpg), `/to-elsewhere` (302 to a host off the
/// list), `/to-localhost` (302 to this server by another name), `/loop`
/// (302 to itself), `/declared-huge` (Content-Length 1 GB), `/streamed-huge`
/// (an endless body, no length) and `/slow` (one byte every 100 ms).
struct Origin {
    port: u16,
    hits: Arc<Mutex<Vec<String>>>,
    streamed: Arc<Mutex<HashMap<String, Streamed>>>,
}

impl Origin {
    fn start(photo: Vec<u8>) -> Origin {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let hits = Arc::new(Mutex::new(Vec::new()));
        let streamed = Arc::new(Mutex::new(HashMap::new()));
        let photo = Arc::new(photo);
        let (h, st) = (hits.clone(), streamed.clone());
        // Ends with the test process; it only ever accepts on loopback.
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (h, st, photo) = (h.clone(), st.clone(), photo.clone());
                std::thread::spawn(move || serve_one(stream, port, &photo, &h, &st));
            }
        });
        Origin { port, hits, streamed }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn hits(&self) -> Vec<String> {
        self.hits.lock().unwrap().clone()
    }

    /// How a streamed response went, once its writer has stopped.
    async fn streamed(&self, path: &str) -> Streamed {
        let started = Instant::now();
        loop {
            if let Some(s) = self.streamed.lock().unwrap().get(path) {
                return *s;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "the origin never stopped writing {path}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn serve_one(
    mut stream: TcpStream,
    port: u16,
    photo: &[u8],
    hits: &Mutex<Vec<String>>,
    streamed: &Mutex<HashMap<String, Streamed>>,
) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let Ok(n) = stream.read(&mut buf) else { return };
        if n == 0 {
            return;
        }
        if head.is_empty() && buf[0] == 0x16 {
            // A TLS ClientHello on this plain-HTTP port.
            hits.lock().unwrap().push("tls".into());
            let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
            return;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
    hits.lock().unwrap().push(path.clone());
    let redirect = |to: String| format!("HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\n\r\n");
    let reply = |status: &str, content_type: &str, body: &[u8]| {
        let mut out = format!(
            "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        out.extend_from_slice(body);
        out
    };
    let out = match path.split('?').next().unwrap_or_default() {
        "/photo.jpg" => reply("200 OK", "image/jpeg", photo),
        "/photo.txt" => reply("200 OK", "text/plain; charset=utf-8", photo),
        "/missing" => reply("404 Not Found", "text/plain", b"no such thing"),
        "/to-photo" => redirect("/photo.jpg".into()).into_bytes(),
        "/to-elsewhere" => redirect("http://elsewhere.invalid/photo.jpg".into()).into_bytes(),
        "/to-localhost" => redirect(format!("http://localhost:{port}/photo.jpg")).into_bytes(),
        "/loop" => redirect("/loop".into()).into_bytes(),
        "/declared-huge" | "/streamed-huge" => {
            let header = if path == "/declared-huge" {
                "HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: 1073741824\r\n\r\n"
            } else {
                "HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nConnection: close\r\n\r\n"
            };
            let total: u64 = 1 << 30;
            let mut s = Streamed::default();
            if stream.write_all(header.as_bytes()).is_ok() {
                let chunk = vec![0x5a_u8; 64 << 10];
                while s.written < total {
                    if stream.write_all(&chunk).is_err() {
                        break;
                    }
                    s.written += chunk.len() as u64;
                }
                s.finished = s.written >= total;
            }
            streamed.lock().unwrap().insert(path, s);
            return;
        }
        "/slow" => {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: 1000\r\n\r\n";
            if stream.write_all(head.as_bytes()).is_err() {
                return;
            }
            for _ in 0..1000 {
                std::thread::sleep(Duration::from_millis(100));
                if stream.write_all(b"x").is_err() {
                    return;
                }
            }
            return;
        }
        _ => reply("404 Not Found", "text/plain", b""),
    };
    let _ = stream.write_all(&out);
    let _ = stream.shutdown(Shutdown::Write);
}

struct Service {
    dir: tempfile::TempDir,
    addr: std::net::SocketAddr,
    admin: String,
}

/// The service, fetching from `127.0.0.1:port` (or nothing, for `None`).
fn service(port: Option<u16>, allow_private: bool) -> Service {
    let fetch = match port {
        Some(port) => FetchPolicy {
            allow: vec![format!("127.0.0.1:{port}").parse().unwrap()],
            allow_http: true,
            timeout: Duration::from_secs(2),
            allow_private,
        },
        None => FetchPolicy::default(),
    };
    service_with(fetch)
}

fn service_with(fetch: FetchPolicy) -> Service {
    let dir = tempfile::tempdir().unwrap();
    let db = ServiceDb::open(dir.path()).unwrap();
    let (_, admin) = db.create_token(&[Scope::Admin], Some("tests")).unwrap();
    let options = ServeOptions {
        max_body: CAP,
        log_requests: false,
        fetch,
        ..Default::default()
    };
    let state = Arc::new(AppState::open(&banks::Location::Dir(dir.path().to_path_buf()), options).unwrap());
    Service {
        dir,
        addr: support::spawn(state),
        admin,
    }
}

impl Service {
    async fn send(&self, req: Request<Body>) -> (StatusCode, Value) {
        support::send(self.addr, req).await
    }

    async fn call(&self, method: &str, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .header("authorization", format!("Bearer {}", self.admin));
        let req = match body {
            Some(v) => req
                .header("content-type", "application/json")
                .body(Body::from(v.to_string())),
            None => req.body(Body::empty()),
        };
        self.send(req.unwrap()).await
    }

    async fn get(&self, uri: &str) -> (StatusCode, Value) {
        self.call("GET", uri, None).await
    }

    async fn upload(&self, uri: &str, field: &str, bytes: &[u8]) -> (StatusCode, Value) {
        let boundary = "XBOUNDARYX";
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"upload.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let req = Request::builder()
            .method("POST")
            .uri(uri)
            .header("authorization", format!("Bearer {}", self.admin))
            .header("content-type", format!("multipart/form-data; boundary={boundary}"))
            .body(Body::from(body))
            .unwrap();
        self.send(req).await
    }
}

/// `url` as a query value.
fn q(url: &str) -> String {
    url.replace('%', "%25")
        .replace(' ', "%20")
        .replace('&', "%26")
        .replace('?', "%3F")
        .replace('#', "%23")
        .replace('@', "%40")
}

fn message(body: &Value) -> String {
    body["message"].as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn fetching_is_off_by_default() {
    let origin = Origin::start(photo(1));
    let s = service(None, false);
    s.call("POST", "/c/banks", Some(json!({"name": "FLAGGED"}))).await;
    let url = q(&origin.url("/photo.jpg"));
    for (method, uri) in [
        ("GET", format!("/h/hash?url={url}")),
        ("GET", format!("/m/lookup?url={url}")),
        ("POST", format!("/c/bank/FLAGGED/content?url={url}")),
    ] {
        let (status, body) = s.call(method, &uri, None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{uri}: {body}");
        assert_eq!(
            message(&body),
            "fetching media by url is disabled on this server; upload the file instead"
        );
    }
    assert!(origin.hits().is_empty(), "nothing was fetched");
}

#[tokio::test]
async fn fetched_media_hashes_exactly_as_the_same_bytes_uploaded() {
    let image = photo(2);
    let origin = Origin::start(image.clone());
    let s = service(Some(origin.port), true);
    let (status, uploaded) = s.upload("/h/hash", "photo", &image).await;
    assert_eq!(status, StatusCode::OK, "{uploaded}");
    assert_eq!(uploaded["pdq"].as_str().unwrap().len(), 64);

    let (status, fetched) = s.get(&format!("/h/hash?url={}", q(&origin.url("/photo.jpg")))).await;
    assert_eq!(status, StatusCode::OK, "{fetched}");
    assert_eq!(fetched, uploaded);
    // Through a redirect on the same (allowed) host, and with a query and fragment.
    let (status, redirected) = s
        .get(&format!("/h/hash?url={}", q(&origin.url("/to-photo?x=1#frag"))))
        .await;
    assert_eq!((status, &redirected), (StatusCode::OK, &uploaded));
    // A type the response does not say: refused before hashing, or given by content_type.
    let (status, body) = s.get(&format!("/h/hash?url={}", q(&origin.url("/photo.txt")))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        message(&body).starts_with("unsupported url ContentType: 'text/plain; charset=utf-8'"),
        "{body}"
    );
    let (status, typed) = s
        .get(&format!(
            "/h/hash?url={}&content_type=photo",
            q(&origin.url("/photo.txt"))
        ))
        .await;
    assert_eq!((status, &typed), (StatusCode::OK, &uploaded));
    // As a video: the MD5 of the bytes, as an upload under `video` gives.
    let (_, video_upload) = s.upload("/h/hash", "video", &image).await;
    let (status, video) = s
        .get(&format!(
            "/h/hash?url={}&content_type=video",
            q(&origin.url("/photo.jpg"))
        ))
        .await;
    assert_eq!((status, &video), (StatusCode::OK, &video_upload));
    assert_eq!(video["video_md5"].as_str().unwrap().len(), 32);
    // Signal type selection is the upload's too.
    let (status, body) = s
        .get(&format!("/h/hash?url={}&types=video_md5", q(&origin.url("/photo.jpg"))))
        .await;
    let (upload_status, upload_body) = s.upload("/h/hash?types=video_md5", "photo", &image).await;
    assert_eq!((status, &body), (upload_status, &upload_body));
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // An unknown content_type is refused without fetching.
    let before = origin.hits().len();
    let (status, body) = s
        .get(&format!(
            "/h/hash?url={}&content_type=audio",
            q(&origin.url("/photo.jpg"))
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(message(&body), "no such content_type: 'audio'");
    assert_eq!(origin.hits().len(), before);
    // A non-2xx answer is a failed fetch, in HMA's words.
    let (status, body) = s.get(&format!("/h/hash?url={}", q(&origin.url("/missing")))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(message(&body), "Failed to fetch URL: the server answered 404 Not Found");
}

#[tokio::test]
async fn urls_are_added_to_banks_and_looked_up() {
    let image = photo(3);
    let origin = Origin::start(image.clone());
    let s = service(Some(origin.port), true);
    s.call("POST", "/c/banks", Some(json!({"name": "FLAGGED"}))).await;
    let url = q(&origin.url("/photo.jpg"));
    let (_, hashed) = s.upload("/h/hash", "photo", &image).await;
    let pdq = hashed["pdq"].as_str().unwrap().to_string();

    // Nothing matches before the add.
    let (status, before) = s.get(&format!("/m/lookup?url={url}")).await;
    assert_eq!((status, &before), (StatusCode::OK, &json!({"pdq": {}})));

    let (status, added) = s
        .call(
            "POST",
            &format!("/c/bank/FLAGGED/content?url={url}"),
            Some(json!({"note": "fetched in a test", "metadata": {"content_id": "c-1"}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{added}");
    let id = added["id"].as_u64().unwrap();
    assert_eq!(added, json!({"id": id, "signals": {"pdq": pdq}}));
    let (_, content) = s
        .get(&format!("/c/bank/FLAGGED/content/{id}?include_signals=true"))
        .await;
    assert_eq!(content["note"], "fetched in a test");
    assert_eq!(content["metadata"]["content_id"], "c-1");
    assert_eq!(content["signals"]["pdq"], pdq.as_str());
    // The audit log says where the content came from.
    let records = ServiceDb::open(s.dir.path()).unwrap().audit_records().unwrap();
    let add = records.iter().find(|r| r.action == "content.add").unwrap();
    let detail: Value = serde_json::from_str(&add.detail).unwrap();
    assert_eq!(detail["url"], origin.url("/photo.jpg"));

    let hit = json!([{"bank_content_id": id, "distance": "0"}]);
    let (status, found) = s.get(&format!("/m/lookup?url={url}")).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found, json!({"pdq": {"FLAGGED": hit}}));
    // With a signal_type, HMA answers that type's matches alone.
    let (_, found) = s.get(&format!("/m/lookup?url={url}&signal_type=pdq")).await;
    assert_eq!(found, json!({"FLAGGED": hit}));
    let (_, found) = s.get(&format!("/m/lookup?url={url}&signal_type=video_md5")).await;
    assert_eq!(found, json!({}));
    // The same answer as an upload lookup.
    let (_, uploaded) = s.upload("/m/lookup", "photo", &image).await;
    assert_eq!(uploaded, json!({"pdq": {"FLAGGED": hit}}));
    // A missing bank is refused before anything is fetched.
    let before = origin.hits().len();
    let (status, _) = s.call("POST", &format!("/c/bank/NOPE/content?url={url}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(origin.hits().len(), before);
}

#[tokio::test]
async fn hosts_schemes_ports_and_credentials_off_the_policy_are_refused() {
    let origin = Origin::start(photo(4));
    let s = service(Some(origin.port), true);
    let port = origin.port;
    let cases = [
        // Not on the list: another name for the same server, another port.
        (
            format!("http://localhost:{port}/photo.jpg"),
            StatusCode::FORBIDDEN,
            "'localhost'",
        ),
        (
            format!("http://127.0.0.1:{}/photo.jpg", port ^ 1),
            StatusCode::FORBIDDEN,
            "port",
        ),
        (
            "http://127.0.0.1/photo.jpg".to_string(),
            StatusCode::FORBIDDEN,
            "port 80",
        ),
        // Credentials, other schemes, nonsense.
        (
            format!("http://user:secret@127.0.0.1:{port}/photo.jpg"),
            StatusCode::BAD_REQUEST,
            "credentials",
        ),
        (
            format!("http://user@127.0.0.1:{port}/photo.jpg"),
            StatusCode::BAD_REQUEST,
            "credentials",
        ),
        (
            format!("ftp://127.0.0.1:{port}/photo.jpg"),
            StatusCode::BAD_REQUEST,
            "scheme",
        ),
        (
            "file:///etc/passwd".into(),
            StatusCode::BAD_REQUEST,
            "Invalid or unsafe URL",
        ),
        ("not a url".into(), StatusCode::BAD_REQUEST, "Invalid or unsafe URL"),
    ];
    for (url, status, says) in cases {
        let (got, body) = s.get(&format!("/h/hash?url={}", q(&url))).await;
        assert_eq!(got, status, "{url}: {body}");
        assert!(message(&body).contains(says), "{url}: {body}");
    }
    assert!(origin.hits().is_empty(), "nothing was fetched: {:?}", origin.hits());

    // https only, unless http is allowed.
    let https_only = service_with(FetchPolicy {
        allow: vec![format!("127.0.0.1:{port}").parse().unwrap()],
        allow_private: true,
        ..Default::default()
    });
    let (status, body) = https_only
        .get(&format!("/h/hash?url={}", q(&origin.url("/photo.jpg"))))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(message(&body).contains("plain http"), "{body}");
    assert!(origin.hits().is_empty());
    // https is spoken as TLS (here to a plain-HTTP port, so the handshake fails).
    let (status, body) = https_only
        .get(&format!(
            "/h/hash?url={}",
            q(&format!("https://127.0.0.1:{port}/photo.jpg"))
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        message(&body).starts_with("Failed to fetch URL: TLS with '127.0.0.1' failed"),
        "{body}"
    );
    assert_eq!(origin.hits(), ["tls"]);
}

#[tokio::test]
async fn redirects_are_checked_and_bounded() {
    let origin = Origin::start(photo(5));
    let s = service(Some(origin.port), true);
    let (status, body) = s.get(&format!("/h/hash?url={}", q(&origin.url("/to-elsewhere")))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(message(&body).contains("'elsewhere.invalid'"), "{body}");
    let (status, body) = s.get(&format!("/h/hash?url={}", q(&origin.url("/to-localhost")))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(message(&body).contains("'localhost'"), "{body}");
    assert_eq!(
        origin.hits(),
        ["/to-elsewhere", "/to-localhost"],
        "the redirect targets were never asked"
    );

    let (status, body) = s.get(&format!("/h/hash?url={}", q(&origin.url("/loop")))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(message(&body), "Failed to fetch URL: too many redirects (more than 5)");
    let loops = origin.hits().iter().filter(|p| *p == "/loop").count();
    assert_eq!(loops, 6, "the first request and 5 redirects");
}

#[tokio::test]
async fn loopback_and_private_addresses_are_refused() {
    let origin = Origin::start(photo(6));
    // On the allowlist, but loopback: refused unless the test-only switch is on.
    let s = service(Some(origin.port), false);
    let (status, body) = s.get(&format!("/h/hash?url={}", q(&origin.url("/photo.jpg")))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(
        message(&body),
        "host '127.0.0.1' resolves to 127.0.0.1, which is not a public address; fetching from it is refused"
    );
    // Names are resolved and every address judged.
    let private = service_with(FetchPolicy {
        allow: [
            "localhost",
            "[::1]",
            "10.0.0.1",
            "169.254.169.254",
            "[::ffff:127.0.0.1]",
        ]
        .iter()
        .map(|p| p.parse().unwrap())
        .collect(),
        allow_http: true,
        ..Default::default()
    });
    for url in [
        "http://localhost/x.jpg",
        "http://[::1]/x.jpg",
        "http://10.0.0.1/x.jpg",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:127.0.0.1]/x.jpg",
    ] {
        let (status, body) = private.get(&format!("/h/hash?url={}", q(url))).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{url}: {body}");
        assert!(message(&body).contains("not a public address"), "{url}: {body}");
    }
    assert!(origin.hits().is_empty());
}

#[tokio::test]
async fn bodies_over_the_upload_limit_get_413_unread() {
    let origin = Origin::start(photo(7));
    let s = service(Some(origin.port), true);
    for path in ["/declared-huge", "/streamed-huge"] {
        let (status, body) = s.get(&format!("/h/hash?url={}", q(&origin.url(path)))).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{path}: {body}");
        assert!(message(&body).starts_with("Content too large"), "{body}");
        let streamed = origin.streamed(path).await;
        assert!(!streamed.finished, "{path}: the origin could write it all");
        // The cap plus what socket buffers hold: far from the gigabyte offered.
        assert!(streamed.written < 64 << 20, "{path}: {streamed:?}");
    }
}

#[tokio::test]
async fn slow_origins_time_out() {
    let origin = Origin::start(photo(8));
    let s = service(Some(origin.port), true);
    let started = Instant::now();
    let (status, body) = s.get(&format!("/h/hash?url={}", q(&origin.url("/slow")))).await;
    let took = started.elapsed();
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(message(&body), "Failed to fetch URL: timed out after 2 s");
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(5),
        "{took:?}"
    );
}
