//! The service on a loopback socket and a plain HTTP/1.1 client for it, so
//! tests go through the same bytes on the wire as any client's requests.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use server::AppState;

/// Serves the whole router on 127.0.0.1 (a free port) on the current runtime.
pub fn spawn(state: Arc<AppState>) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let router = server::router(state);
    tokio::spawn(async move {
        axum::serve(tokio::net::TcpListener::from_std(listener).unwrap(), router)
            .await
            .unwrap()
    });
    addr
}

/// Sends one request on a fresh connection, as independent clients do;
/// the body comes back as JSON, or as a JSON string when it is not JSON.
pub async fn send(addr: SocketAddr, req: Request<Body>) -> (StatusCode, Value) {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let response = sender.send_request(req).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let value =
        serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
    (status, value)
}
