//! The `tiny_http` adapter: a few worker threads turn sockets into [`Request`]s and back.

use std::io::{Cursor, Read};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use crate::config::SimConfig;
use crate::endpoints;
use crate::faults::CLOSE_FALLBACK_WAIT;
use crate::http::{Delivery, Request, Response};
use crate::keys::SigningKey;
use crate::sockets;
use crate::state::Sim;

/// Handlers may sleep (the `slow` fault), so there are enough threads for the other endpoints.
pub const WORKER_THREADS: usize = 16;
/// Larger bodies get 413; nothing the simulator accepts comes close.
pub const MAX_BODY: u64 = 64 * 1024;

pub struct RunningServer {
    pub sim: Arc<Sim>,
    server: Arc<tiny_http::Server>,
    stopping: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

/// Binds `listen` and starts the worker threads. The issuer's host is the bound address
/// (loopback when bound to an unspecified address).
pub fn start(listen: &str, config: SimConfig, key: SigningKey) -> Result<RunningServer, String> {
    let listener = sockets::nodelay_listener(listen).map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let server = tiny_http::Server::from_listener(listener, None).map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let bound = server.server_addr().to_ip().ok_or("not an IP listener")?;
    let ip = match bound.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    let base = format!("http://{}", SocketAddr::new(ip, bound.port()));
    let sim = Arc::new(Sim::new(config, key, &base));
    let server = Arc::new(server);
    let stopping = Arc::new(AtomicBool::new(false));
    let port = bound.port();
    let threads = (0..WORKER_THREADS)
        .map(|_| {
            let (sim, server, stopping) = (sim.clone(), server.clone(), stopping.clone());
            std::thread::spawn(move || loop {
                match server.recv() {
                    Ok(request) => serve(&sim, port, request),
                    Err(_) if stopping.load(Ordering::SeqCst) => break,
                    Err(e) => eprintln!("vipps-sim: connection error: {e}"),
                }
            })
        })
        .collect();
    Ok(RunningServer {
        sim,
        server,
        stopping,
        threads,
    })
}

impl RunningServer {
    /// `http://127.0.0.1:PORT`
    pub fn base(&self) -> &str {
        &self.sim.base
    }

    /// Serves until the process ends.
    pub fn join(self) {
        for t in self.threads {
            let _ = t.join();
        }
    }

    /// Stops the worker threads and waits for them.
    #[cfg_attr(not(test), allow(dead_code))]
    pub fn shutdown(self) {
        self.stopping.store(true, Ordering::SeqCst);
        for _ in &self.threads {
            self.server.unblock();
        }
        self.join();
    }
}

fn serve(sim: &Sim, port: u16, mut raw: tiny_http::Request) {
    let mut request = Request::new(raw.method().as_str(), raw.url());
    request.headers = raw
        .headers()
        .iter()
        .map(|h| {
            (
                h.field.as_str().as_str().to_string(),
                h.value.as_str().to_string(),
            )
        })
        .collect();
    let mut body = Vec::new();
    let read = raw.as_reader().take(MAX_BODY + 1).read_to_end(&mut body);
    let response = match read {
        Err(_) => Response::json(400, &serde_json::json!({"error": "invalid_request"})),
        Ok(_) if body.len() as u64 > MAX_BODY => {
            Response::json(413, &serde_json::json!({"error": "request_too_large"}))
        }
        Ok(_) => {
            request.body = body;
            endpoints::handle(sim, &request)
        }
    };
    // One line per request; never the query string (codes, state) or anything personal.
    let status = match response.delivery {
        Delivery::Close => "closed".to_string(),
        _ => response.status.to_string(),
    };
    eprintln!("{} {} {status}", request.method, loggable(&request.path));

    let mut headers = Vec::new();
    for (name, value) in &response.headers {
        match tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()) {
            Ok(h) => headers.push(h),
            Err(_) => eprintln!("vipps-sim: dropped an invalid {name} header"),
        }
    }
    let status = tiny_http::StatusCode(response.status);
    let _ = match response.delivery {
        // Always Content-Length (tiny_http would switch to chunked from 32 KiB on).
        Delivery::Normal => {
            let length = response.body.len();
            raw.respond(
                tiny_http::Response::new(
                    status,
                    headers,
                    Cursor::new(response.body),
                    Some(length),
                    None,
                )
                .with_chunked_threshold(usize::MAX),
            )
        }
        Delivery::Chunked => raw.respond(tiny_http::Response::new(
            status,
            headers,
            Cursor::new(response.body),
            None,
            None,
        )),
        Delivery::Close => {
            close(port, raw);
            Ok(())
        }
    };
}

/// Ends the connection without a response. Where the socket cannot be found (not Linux), it
/// waits [`CLOSE_FALLBACK_WAIT`] and answers 504 instead.
fn close(port: u16, raw: tiny_http::Request) {
    let closed = raw
        .remote_addr()
        .is_some_and(|peer| sockets::shut_down_connection(port, *peer));
    if closed {
        // Taking the writer keeps tiny_http from answering 500 when the request is dropped.
        drop(raw.into_writer());
    } else {
        std::thread::sleep(CLOSE_FALLBACK_WAIT);
        let body = serde_json::json!({"error": "server_error", "error_description": "vipps-sim: the connection could not be closed"});
        let _ = raw.respond(tiny_http::Response::from_data(body.to_string()).with_status_code(504));
    }
}

fn loggable(path: &str) -> String {
    path.chars()
        .take(200)
        .map(|c| if c.is_ascii_graphic() { c } else { '?' })
        .collect()
}
