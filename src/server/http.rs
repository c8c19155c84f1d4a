//! The HTTP API on hyper (HTTP/1.1, keep-alive):
//!
//! | route | answer |
//! |---|---|
//! | `GET`/`HEAD /v1/keys/{key}` | 200 with the value's bytes, 404 |
//! | `PUT /v1/keys/{key}[?ttl=30s]` | 204; the TTL also as header `Hoard-TTL` |
//! | `DELETE /v1/keys/{key}` | 204, 404 |
//! | `GET /v1/keys?prefix=&limit=&cursor=` | 200, JSON, one page of keys in bytewise order |
//! | `GET /healthz` | 200 `ok`, 503 while the store refuses writes |
//! | `GET /metrics` | Prometheus text format |
//!
//! Keys in paths are percent-decoded, so any byte string can be named.
//! With a token (`--http-token-file`), every route but `/healthz` needs
//! `Authorization: Bearer TOKEN` (401 otherwise). Errors are JSON objects
//! `{"error": ..., "message": ...}` with 400, 401, 404, 405, 413 or 503.

use std::convert::Infallible;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use tokio::net::TcpListener;

use crate::limits::{KEY_LEN_MAX, VALUE_LEN_MAX};

use super::Shared;
use super::commands::COMMANDS;
use super::stats::{CommandStats, HTTP_ROUTES, LATENCY_BOUNDS_US};

/// Keys per page of a listing unless `limit` says otherwise, and at most.
const PAGE_DEFAULT: usize = 1000;
const PAGE_MAX: usize = 10_000;

/// Accepts HTTP clients until the task is aborted.
pub(crate) async fn accept_loop(
    shared: Arc<Shared>,
    listener: TcpListener,
    log: Arc<dyn Fn(&str) + Send + Sync>,
) {
    loop {
        let (stream, addr) = super::connection::accept(&listener, &*log, "HTTP").await;
        if shared.http_connections.load(Relaxed) >= shared.max_clients.load(Relaxed) as u64 {
            shared.stats.connections_rejected.fetch_add(1, Relaxed);
            drop(stream);
            continue;
        }
        shared.http_connections.fetch_add(1, Relaxed);
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        let log = log.clone();
        tokio::spawn(async move {
            let service_shared = shared.clone();
            let service = hyper::service::service_fn(move |request| {
                let shared = service_shared.clone();
                async move { Ok::<_, Infallible>(handle(&shared, request).await) }
            });
            let mut shutdown = shared.shutdown.subscribe();
            let connection = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(Duration::from_secs(30))
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            tokio::pin!(connection);
            let result = tokio::select! {
                result = connection.as_mut() => result,
                _ = async { let _ = shutdown.wait_for(|stop| *stop).await; } => {
                    // Finish the request in flight, then close.
                    connection.as_mut().graceful_shutdown();
                    connection.as_mut().await
                }
            };
            if let Err(e) = result
                && !e.is_incomplete_message()
            {
                log(&format!("hoard serve: HTTP client {addr}: {e}"));
            }
            shared.http_connections.fetch_sub(1, Relaxed);
        });
    }
}

type Reply = Response<Full<Bytes>>;

fn respond(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Reply {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

fn empty(status: StatusCode) -> Reply {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = status;
    response
}

fn problem(status: StatusCode, error: &str, message: impl std::fmt::Display) -> Reply {
    let body = serde_json::json!({ "error": error, "message": message.to_string() });
    respond(status, "application/json", format!("{body}\n"))
}

fn from_store_error(error: crate::Error) -> Reply {
    match &error {
        crate::Error::Poisoned { .. } => {
            problem(StatusCode::SERVICE_UNAVAILABLE, "read_only", error)
        }
        crate::Error::InvalidInput(_) => problem(StatusCode::BAD_REQUEST, "invalid_input", error),
        _ => problem(StatusCode::INTERNAL_SERVER_ERROR, error.kind(), error),
    }
}

/// Which route a request is for (an index into `HTTP_ROUTES`), if any.
fn route_of(method: &Method, path: &str) -> Option<usize> {
    let route = match (method, path) {
        (&Method::GET | &Method::HEAD, "/healthz") => "healthz",
        (&Method::GET | &Method::HEAD, "/metrics") => "metrics",
        (&Method::GET | &Method::HEAD, "/v1/keys") => "list",
        (&Method::GET | &Method::HEAD, p) if p.starts_with("/v1/keys/") => "get",
        (&Method::PUT, p) if p.starts_with("/v1/keys/") => "put",
        (&Method::DELETE, p) if p.starts_with("/v1/keys/") => "delete",
        _ => return None,
    };
    HTTP_ROUTES.iter().position(|r| *r == route)
}

async fn handle(shared: &Arc<Shared>, request: Request<Incoming>) -> Reply {
    let started = Instant::now();
    let path = request.uri().path().to_string();
    let Some(route) = route_of(request.method(), &path) else {
        let known = path == "/healthz" || path == "/metrics" || path.starts_with("/v1/keys");
        return if known {
            let mut reply = problem(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format_args!("{} is not allowed on {path}", request.method()),
            );
            reply.headers_mut().insert(
                header::ALLOW,
                HeaderValue::from_static(if path.starts_with("/v1/keys/") {
                    "GET, HEAD, PUT, DELETE"
                } else {
                    "GET, HEAD"
                }),
            );
            reply
        } else {
            problem(
                StatusCode::NOT_FOUND,
                "not_found",
                format_args!("no route {path}"),
            )
        };
    };
    let reply = if HTTP_ROUTES[route] != "healthz" && !authorized(shared, &request) {
        let mut reply = problem(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send the server's token as `Authorization: Bearer TOKEN`",
        );
        reply
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        reply
    } else {
        match HTTP_ROUTES[route] {
            "healthz" => healthz(shared),
            "metrics" => metrics(shared).await,
            "list" => list(shared, &request).await,
            "get" => get(shared, &path).await,
            "put" => put(shared, request, &path).await,
            "delete" => delete(shared, &path).await,
            _ => unreachable!("every route is handled"),
        }
    };
    shared
        .stats
        .record_http(route, reply.status().as_u16(), started.elapsed());
    reply
}

fn authorized(shared: &Shared, request: &Request<Incoming>) -> bool {
    let Some(token) = &shared.options.http_token else {
        return true;
    };
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| {
            // The scheme name is case-insensitive (RFC 9110).
            let v = v.as_bytes();
            (v.len() > 7 && v[..7].eq_ignore_ascii_case(b"bearer ")).then(|| &v[7..])
        })
        .unwrap_or(b"");
    token.matches(given)
}

/// The key named by a `/v1/keys/{key}` path, percent-decoded.
fn key_of(path: &str) -> Result<Vec<u8>, Box<Reply>> {
    let raw = &path["/v1/keys/".len()..];
    let Some(key) = percent_decode(raw) else {
        return Err(Box::new(problem(
            StatusCode::BAD_REQUEST,
            "invalid_key",
            "the key is not validly percent-encoded",
        )));
    };
    if key.is_empty() || key.len() > KEY_LEN_MAX {
        return Err(Box::new(problem(
            StatusCode::BAD_REQUEST,
            "invalid_key",
            format_args!(
                "keys are 1 to {KEY_LEN_MAX} bytes long; this one is {}",
                key.len()
            ),
        )));
    }
    Ok(key)
}

/// Decodes `%XX` escapes (and nothing else: `+` is a plus).
fn percent_decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(out)
}

/// The query parameters of a request, percent-decoded (`+` as a space).
fn query_params(request: &Request<Incoming>) -> Option<Vec<(String, Vec<u8>)>> {
    let Some(query) = request.uri().query() else {
        return Some(Vec::new());
    };
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = value.replace('+', " ");
            Some((
                String::from_utf8(percent_decode(name)?).ok()?,
                percent_decode(&value)?,
            ))
        })
        .collect()
}

/// A TTL such as `30s`, `5m`, `1500ms` or a number of seconds, in ms.
fn parse_ttl(text: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(text).ok()?;
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let number: u64 = number.parse().ok()?;
    let unit_ms = match unit {
        "ms" => 1,
        "" | "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return None,
    };
    number.checked_mul(unit_ms).filter(|ms| *ms > 0)
}

/// Runs `work` under the transaction gate: on this worker if the gate is
/// free, else on the blocking pool, so a worker never waits for an EXEC.
async fn under_gate<T: Send + 'static>(
    shared: &Arc<Shared>,
    work: impl FnOnce(&Shared) -> T + Send + 'static,
) -> T {
    if let Some(_gate) = shared.gate.try_read() {
        return work(shared);
    }
    store_work(shared, move |shared| {
        let _gate = shared.gate.read();
        work(shared)
    })
    .await
}

/// Runs `work` (a listing, the metrics' figures: a pass over the index)
/// on the blocking pool.
async fn store_work<T: Send + 'static>(
    shared: &Arc<Shared>,
    work: impl FnOnce(&Shared) -> T + Send + 'static,
) -> T {
    let shared = shared.clone();
    tokio::task::spawn_blocking(move || work(&shared))
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
}

/// The reply to a write that was run but could not be made safe (a
/// failed write or sync): it is not acknowledged, and the store is read-only.
fn write_lost(shared: &Shared) -> Reply {
    from_store_error(crate::Error::Poisoned {
        path: shared.store.dir().to_path_buf(),
    })
}

async fn get(shared: &Arc<Shared>, path: &str) -> Reply {
    let key = match key_of(path) {
        Ok(key) => key,
        Err(reply) => return *reply,
    };
    let found = under_gate(shared, move |shared| shared.store.get(&key)).await;
    if !shared.reads_safe().await {
        return write_lost(shared);
    }
    match found {
        Ok(Some(value)) => {
            shared.stats.keyspace_hits.fetch_add(1, Relaxed);
            let mut reply = respond(StatusCode::OK, "application/octet-stream", value.bytes);
            if let Some(at) = value.expiry_ms {
                reply.headers_mut().insert(
                    "Hoard-Expires-At-Ms",
                    HeaderValue::from_str(&at.to_string()).expect("digits"),
                );
            }
            reply
        }
        Ok(None) => {
            shared.stats.keyspace_misses.fetch_add(1, Relaxed);
            problem(StatusCode::NOT_FOUND, "not_found", "no such key")
        }
        Err(e) => from_store_error(e),
    }
}

async fn put(shared: &Arc<Shared>, request: Request<Incoming>, path: &str) -> Reply {
    let key = match key_of(path) {
        Ok(key) => key,
        Err(reply) => return *reply,
    };
    let Some(params) = query_params(&request) else {
        return problem(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            "the query is not validly percent-encoded",
        );
    };
    if let Some((name, _)) = params.iter().find(|(name, _)| name != "ttl") {
        return problem(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            format_args!("unknown parameter `{name}` (only ttl)"),
        );
    }
    let ttl_text = params
        .iter()
        .find(|(name, _)| name == "ttl")
        .map(|(_, v)| v.clone())
        .or_else(|| {
            request
                .headers()
                .get("Hoard-TTL")
                .map(|v| v.as_bytes().to_vec())
        });
    let ttl_ms = match ttl_text {
        None => None,
        Some(text) => match parse_ttl(&text) {
            Some(ms) => Some(ms),
            None => {
                return problem(
                    StatusCode::BAD_REQUEST,
                    "invalid_ttl",
                    "a TTL is a whole number with ms, s, m, h or d (e.g. 30s), greater than zero",
                );
            }
        },
    };
    // A body is a client's input like a RESP query: the per-client limit
    // caps it, and what it may hold counts against the total budget.
    let body_max = VALUE_LEN_MAX.min(shared.options.query_buffer_max);
    let too_big = || {
        problem(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format_args!("a value sent over HTTP is at most {body_max} bytes"),
        )
    };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > body_max as u64) {
        return too_big();
    }
    let reserved = declared.unwrap_or(body_max as u64);
    let budget = &shared.stats.client_buffer_bytes;
    if budget.fetch_add(reserved, Relaxed) + reserved > shared.options.client_buffers_max as u64 {
        budget.fetch_sub(reserved, Relaxed);
        return problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "the server's budget for client input is spent; retry later",
        );
    }
    let collected = Limited::new(request.into_body(), body_max).collect().await;
    budget.fetch_sub(reserved, Relaxed);
    let value = match collected {
        Ok(body) => body.to_bytes(),
        Err(e)
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            return too_big();
        }
        Err(e) => {
            return problem(
                StatusCode::BAD_REQUEST,
                "bad_body",
                format_args!("reading the body: {e}"),
            );
        }
    };
    if shared.store.is_poisoned() {
        return from_store_error(crate::Error::Poisoned {
            path: shared.store.dir().to_path_buf(),
        });
    }
    let written = under_gate(shared, move |shared| {
        // In the replication order, as every write (see replication.rs).
        let mut order = shared.replication.order();
        let expiry_ms = ttl_ms
            .map(|ttl| crate::store::expiry_after(shared.store.now_ms(), ttl))
            .transpose();
        let written = expiry_ms.and_then(|expiry_ms| {
            shared.store.put_at(&key, &value, expiry_ms)?;
            Ok(expiry_ms)
        });
        // Inside the gate, so that an EXEC watching the key sees it.
        if let Ok(expiry_ms) = written {
            order.set(&key, &value, expiry_ms);
            drop(order);
            shared.watches.touch(&key);
            shared.saves.dirty.fetch_add(1, Relaxed);
        }
        written
    })
    .await;
    if let Err(e) = written {
        return from_store_error(e);
    }
    if !shared.writes_safe().await {
        return write_lost(shared);
    }
    empty(StatusCode::NO_CONTENT)
}

async fn delete(shared: &Arc<Shared>, path: &str) -> Reply {
    let key = match key_of(path) {
        Ok(key) => key,
        Err(reply) => return *reply,
    };
    if shared.store.is_poisoned() {
        return from_store_error(crate::Error::Poisoned {
            path: shared.store.dir().to_path_buf(),
        });
    }
    let deleted = under_gate(shared, move |shared| {
        let mut order = shared.replication.order();
        let deleted = shared.store.delete(&key);
        if matches!(deleted, Ok(true)) {
            order.delete(&key);
            drop(order);
            shared.watches.touch(&key);
            shared.saves.dirty.fetch_add(1, Relaxed);
        }
        deleted
    })
    .await;
    match deleted {
        Ok(true) => {
            if !shared.writes_safe().await {
                return write_lost(shared);
            }
            empty(StatusCode::NO_CONTENT)
        }
        Ok(false) => problem(StatusCode::NOT_FOUND, "not_found", "no such key"),
        Err(e) => from_store_error(e),
    }
}

/// A key or cursor in JSON: text when it is UTF-8, else base64 with a
/// companion `<field>_encoding` field (as the command line's `--json`).
fn json_bytes(object: &mut serde_json::Map<String, serde_json::Value>, field: &str, bytes: &[u8]) {
    use base64::Engine as _;
    match std::str::from_utf8(bytes) {
        Ok(text) => {
            object.insert(field.into(), text.into());
        }
        Err(_) => {
            object.insert(
                field.into(),
                base64::engine::general_purpose::STANDARD
                    .encode(bytes)
                    .into(),
            );
            object.insert(format!("{field}_encoding"), "base64".into());
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &[u8]) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    text.chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok())
        .collect()
}

async fn list(shared: &Arc<Shared>, request: &Request<Incoming>) -> Reply {
    let Some(params) = query_params(request) else {
        return problem(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            "the query is not validly percent-encoded",
        );
    };
    let mut prefix = Vec::new();
    let mut limit = PAGE_DEFAULT;
    let mut after: Option<Vec<u8>> = None;
    for (name, value) in params {
        match name.as_str() {
            "prefix" => prefix = value,
            "limit" => match std::str::from_utf8(&value)
                .ok()
                .and_then(|v| v.parse().ok())
            {
                Some(n) if (1..=PAGE_MAX).contains(&n) => limit = n,
                _ => {
                    return problem(
                        StatusCode::BAD_REQUEST,
                        "invalid_limit",
                        format_args!("limit is a number from 1 to {PAGE_MAX}"),
                    );
                }
            },
            "cursor" if value.is_empty() => {}
            "cursor" => match unhex(&value) {
                Some(key) => after = Some(key),
                None => {
                    return problem(
                        StatusCode::BAD_REQUEST,
                        "invalid_cursor",
                        "the cursor is not one this server gave",
                    );
                }
            },
            other => {
                return problem(
                    StatusCode::BAD_REQUEST,
                    "invalid_query",
                    format_args!("unknown parameter `{other}` (prefix, limit, cursor)"),
                );
            }
        }
    }
    store_work(shared, move |shared| {
        let _gate = shared.gate.read();
        let keys = match shared.store.keys(&prefix, None) {
            Ok(keys) => keys,
            Err(e) => return from_store_error(e),
        };
        let start = match &after {
            Some(after) => keys.partition_point(|k| k <= after),
            None => 0,
        };
        let page = &keys[start..keys.len().min(start + limit)];
        let next =
            (start + page.len() < keys.len()).then(|| hex(page.last().expect("a full page")));
        let items: Vec<serde_json::Value> = page
            .iter()
            .map(|key| {
                let mut object = serde_json::Map::new();
                json_bytes(&mut object, "key", key);
                serde_json::Value::Object(object)
            })
            .collect();
        let body = serde_json::json!({ "keys": items, "next_cursor": next });
        respond(StatusCode::OK, "application/json", format!("{body}\n"))
    })
    .await
}

fn healthz(shared: &Shared) -> Reply {
    if shared.store.is_poisoned() {
        return respond(
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain; charset=utf-8",
            "read-only: a write or sync failed; writes are refused until the server restarts\n",
        );
    }
    respond(StatusCode::OK, "text/plain; charset=utf-8", "ok\n")
}

/// Writes one histogram of `stats` with `labels`.
fn histogram(out: &mut String, name: &str, labels: &str, stats: &CommandStats) {
    let mut cumulative = 0;
    for (i, bound) in LATENCY_BOUNDS_US.iter().enumerate() {
        cumulative += stats.buckets[i].load(Relaxed);
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels},le=\"{}\"}} {cumulative}",
            *bound as f64 / 1e6
        );
    }
    cumulative += stats.buckets[LATENCY_BOUNDS_US.len()].load(Relaxed);
    let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {cumulative}");
    let _ = writeln!(
        out,
        "{name}_sum{{{labels}}} {}",
        stats.usec.load(Relaxed) as f64 / 1e6
    );
    let _ = writeln!(
        out,
        "{name}_count{{{labels}}} {}",
        stats.calls.load(Relaxed)
    );
}

async fn metrics(shared: &Arc<Shared>) -> Reply {
    let figures = store_work(shared, super::admin::store_figures).await;
    let stats = &shared.stats;
    let mut out = String::new();
    let family = |out: &mut String, name: &str, kind: &str, help: &str| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    };
    family(
        &mut out,
        "hoard_commands_total",
        "counter",
        "RESP commands run, by command.",
    );
    for (spec, s) in COMMANDS.iter().zip(&stats.commands) {
        let _ = writeln!(
            out,
            "hoard_commands_total{{command=\"{}\"}} {}",
            spec.name,
            s.calls.load(Relaxed)
        );
    }
    family(
        &mut out,
        "hoard_command_errors_total",
        "counter",
        "RESP commands that replied with an error, by command.",
    );
    for (spec, s) in COMMANDS.iter().zip(&stats.commands) {
        let errors = s.failed.load(Relaxed) + s.rejected.load(Relaxed);
        let _ = writeln!(
            out,
            "hoard_command_errors_total{{command=\"{}\"}} {errors}",
            spec.name
        );
    }
    family(
        &mut out,
        "hoard_command_duration_seconds",
        "histogram",
        "RESP command latency, by command.",
    );
    for (spec, s) in COMMANDS.iter().zip(&stats.commands) {
        if s.calls.load(Relaxed) > 0 {
            histogram(
                &mut out,
                "hoard_command_duration_seconds",
                &format!("command=\"{}\"", spec.name),
                s,
            );
        }
    }
    family(
        &mut out,
        "hoard_http_requests_total",
        "counter",
        "HTTP requests, by route and status class.",
    );
    for (route, classes) in HTTP_ROUTES.iter().zip(&stats.http_requests) {
        for (class, count) in ["2xx", "3xx", "4xx", "5xx"].iter().zip(classes) {
            let _ = writeln!(
                out,
                "hoard_http_requests_total{{route=\"{route}\",status=\"{class}\"}} {}",
                count.load(Relaxed)
            );
        }
    }
    family(
        &mut out,
        "hoard_http_request_duration_seconds",
        "histogram",
        "HTTP request latency, by route.",
    );
    for (route, s) in HTTP_ROUTES.iter().zip(&stats.http_latency) {
        histogram(
            &mut out,
            "hoard_http_request_duration_seconds",
            &format!("route=\"{route}\""),
            s,
        );
    }
    let gauges: [(&str, &str, &str, f64); 20] = [
        (
            "hoard_connections",
            "gauge",
            "RESP clients connected now.",
            stats.connections_current.load(Relaxed) as f64,
        ),
        (
            "hoard_http_connections",
            "gauge",
            "HTTP clients connected now.",
            shared.http_connections.load(Relaxed) as f64,
        ),
        (
            "hoard_connections_received_total",
            "counter",
            "RESP connections accepted.",
            stats.connections_received.load(Relaxed) as f64,
        ),
        (
            "hoard_connections_rejected_total",
            "counter",
            "Connections refused at the client limit.",
            stats.connections_rejected.load(Relaxed) as f64,
        ),
        (
            "hoard_protocol_errors_total",
            "counter",
            "Connections closed for a protocol error or a broken limit.",
            stats.protocol_errors.load(Relaxed) as f64,
        ),
        (
            "hoard_error_replies_total",
            "counter",
            "RESP error replies.",
            stats.error_replies.load(Relaxed) as f64,
        ),
        (
            "hoard_keyspace_hits_total",
            "counter",
            "Reads that found their key.",
            stats.keyspace_hits.load(Relaxed) as f64,
        ),
        (
            "hoard_keyspace_misses_total",
            "counter",
            "Reads that did not.",
            stats.keyspace_misses.load(Relaxed) as f64,
        ),
        (
            "hoard_keys",
            "gauge",
            "Live keys (refreshed at most every 10 s).",
            figures.keys as f64,
        ),
        (
            "hoard_live_bytes",
            "gauge",
            "Bytes of live records (bitcask) or keys and values (memory).",
            figures.live_bytes as f64,
        ),
        (
            "hoard_dead_bytes",
            "gauge",
            "Bytes of records a merge would reclaim (bitcask).",
            figures.dead_bytes as f64,
        ),
        (
            "hoard_merges_total",
            "counter",
            "Background merges.",
            figures.merges as f64,
        ),
        (
            "hoard_last_merge_live_bytes",
            "gauge",
            "Live bytes the last merge copied.",
            figures.last_merge_live_bytes as f64,
        ),
        (
            "hoard_last_merge_duration_seconds",
            "gauge",
            "Duration of the last merge.",
            figures.last_merge_ms as f64 / 1e3,
        ),
        (
            "hoard_snapshots_total",
            "counter",
            "Background snapshots (memory).",
            figures.snapshots as f64,
        ),
        (
            "hoard_last_snapshot_duration_seconds",
            "gauge",
            "Duration of the last snapshot.",
            figures.last_snapshot_ms as f64 / 1e3,
        ),
        (
            "hoard_syncs_total",
            "counter",
            "fdatasyncs of the log.",
            figures.syncs as f64,
        ),
        (
            "hoard_sync_duration_seconds_total",
            "counter",
            "Time spent in those fdatasyncs.",
            figures.sync_seconds,
        ),
        (
            "hoard_read_only",
            "gauge",
            "1 while a failed write or sync makes the store refuse writes.",
            f64::from(u8::from(shared.store.is_poisoned())),
        ),
        (
            "hoard_resident_bytes",
            "gauge",
            "Resident memory of the process.",
            super::admin::resident_bytes() as f64,
        ),
    ];
    for (name, kind, help, value) in gauges {
        family(&mut out, name, kind, help);
        let _ = writeln!(out, "{name} {value}");
    }
    respond(
        StatusCode::OK,
        "text/plain; version=0.0.4; charset=utf-8",
        out,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding_takes_escapes_and_refuses_broken_ones() {
        assert_eq!(percent_decode("a%2Fb%00").unwrap(), b"a/b\0");
        assert_eq!(percent_decode("a+b").unwrap(), b"a+b");
        assert_eq!(percent_decode("%zz"), None);
        assert_eq!(percent_decode("%4"), None);
    }

    #[test]
    fn ttls_take_units_and_refuse_zero() {
        assert_eq!(parse_ttl(b"30s"), Some(30_000));
        assert_eq!(parse_ttl(b"1500ms"), Some(1500));
        assert_eq!(parse_ttl(b"2"), Some(2000));
        assert_eq!(parse_ttl(b"0"), None);
        assert_eq!(parse_ttl(b"1y"), None);
        assert_eq!(parse_ttl(b""), None);
    }

    #[test]
    fn cursors_round_trip_any_bytes() {
        let key = [0u8, 255, b'a'];
        assert_eq!(unhex(hex(&key).as_bytes()).unwrap(), key);
        assert_eq!(unhex(b"abc"), None);
    }
}
