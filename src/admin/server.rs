//! The admin endpoint: a few read-only HTTP GETs (`/` and `/status` as
//! JSON, `/metrics` for Prometheus) on a loopback port or a Unix socket,
//! answered from the latest view the bridge handed over, on a thread of its
//! own so a slow client never holds the bridge up.
//!
//! Three fixed paths, GET only, one request per connection: HTTP/1.0's
//! subset that curl, Prometheus and our own client speak is a few lines,
//! against a server framework's dependency tree.
//!
//! Only the bridge's own user is answered: a Unix socket is created mode
//! 0600; on TCP the peer's socket owner is looked up in /proc/net/tcp(6)
//! (both ends are on this machine, loopback only).

use super::{BridgeView, prometheus};
use crate::config::AdminAddress;
use anyhow::Context;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A client that says nothing for this long is dropped.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(2);
/// The longest request head read.
const MAX_REQUEST: usize = 8192;

type Shared = Arc<Mutex<Option<Arc<BridgeView>>>>;

/// The running endpoint. The socket file (if any) is removed on drop.
pub struct AdminServer {
    view: Shared,
    socket_file: Option<PathBuf>,
}

impl AdminServer {
    pub fn start(address: &AdminAddress) -> anyhow::Result<Self> {
        let view: Shared = Arc::default();
        let socket_file = match address {
            AdminAddress::Tcp(at) => {
                let listener = TcpListener::bind(at)
                    .with_context(|| format!("admin.listen: cannot listen on {at}"))?;
                let shared = view.clone();
                spawn(move || serve_tcp(listener, shared))?;
                None
            }
            AdminAddress::Unix(path) => {
                let listener = bind_unix(path)?;
                let shared = view.clone();
                spawn(move || serve_unix(listener, shared))?;
                Some(path.clone())
            }
        };
        tracing::info!("admin endpoint on {address} (/status, /metrics)");
        Ok(AdminServer { view, socket_file })
    }

    /// What the next requests are answered with.
    pub fn publish(&self, view: BridgeView) {
        *self.view.lock().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(view));
    }
}

impl Drop for AdminServer {
    fn drop(&mut self) {
        if let Some(path) = &self.socket_file {
            let _ = std::fs::remove_file(path);
        }
    }
}

fn spawn(serve: impl FnOnce() + Send + 'static) -> anyhow::Result<()> {
    std::thread::Builder::new()
        .name("admin".into())
        .spawn(serve)
        .context("cannot start the admin endpoint's thread")?;
    Ok(())
}

/// A socket left by a bridge that is gone is replaced; one in use is not.
fn bind_unix(path: &PathBuf) -> anyhow::Result<UnixListener> {
    if path.exists() {
        if UnixStream::connect(path).is_ok() {
            anyhow::bail!(
                "admin.listen: {} is in use by another bridge; give this one its own path",
                path.display()
            );
        }
        std::fs::remove_file(path)
            .with_context(|| format!("admin.listen: cannot replace {}", path.display()))?;
    }
    let listener = UnixListener::bind(path)
        .with_context(|| format!("admin.listen: cannot create socket {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("admin.listen: cannot restrict {}", path.display()))?;
    Ok(listener)
}

fn serve_tcp(listener: TcpListener, view: Shared) {
    let own_uid = rustix::process::getuid().as_raw();
    for stream in listener.incoming().flatten() {
        let (Ok(local), Ok(peer)) = (stream.local_addr(), stream.peer_addr()) else {
            continue;
        };
        if tcp_peer_uid(local, peer) != Some(own_uid) {
            tracing::warn!("admin endpoint: refused {peer}, not this bridge's user");
            continue;
        }
        answer(stream, &view);
    }
}

fn serve_unix(listener: UnixListener, view: Shared) {
    for stream in listener.incoming().flatten() {
        answer(stream, &view);
    }
}

trait Connection: Read + Write {
    fn set_timeouts(&self, timeout: Duration);
}

impl Connection for TcpStream {
    fn set_timeouts(&self, timeout: Duration) {
        let _ = self.set_read_timeout(Some(timeout));
        let _ = self.set_write_timeout(Some(timeout));
    }
}

impl Connection for UnixStream {
    fn set_timeouts(&self, timeout: Duration) {
        let _ = self.set_read_timeout(Some(timeout));
        let _ = self.set_write_timeout(Some(timeout));
    }
}

fn answer(mut stream: impl Connection, view: &Shared) {
    stream.set_timeouts(CLIENT_TIMEOUT);
    let Some(head) = read_head(&mut stream) else {
        return;
    };
    let latest = view.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let (status, content_type, body) = respond(&head, latest.as_deref());
    let _ = write!(
        stream,
        "HTTP/1.0 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
}

fn read_head(stream: &mut impl Read) -> Option<String> {
    let mut head = Vec::new();
    let mut chunk = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_REQUEST {
        let n = stream.read(&mut chunk).ok().filter(|&n| n > 0)?;
        head.extend_from_slice(&chunk[..n]);
    }
    Some(String::from_utf8_lossy(&head).into_owned())
}

/// Status line, content type and body for a request head.
fn respond(head: &str, view: Option<&BridgeView>) -> (&'static str, &'static str, String) {
    let mut words = head.split_whitespace();
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    if method != "GET" {
        return ("405 Method Not Allowed", "text/plain", "GET only\n".into());
    }
    let Some(view) = view else {
        return (
            "503 Service Unavailable",
            "text/plain",
            "the bridge is starting\n".into(),
        );
    };
    match path {
        "/" | "/status" => (
            "200 OK",
            "application/json",
            serde_json::to_string(view).unwrap_or_default(),
        ),
        "/metrics" => (
            "200 OK",
            "text/plain; version=0.0.4; charset=utf-8",
            prometheus(view),
        ),
        _ => (
            "404 Not Found",
            "text/plain",
            "paths: /status (JSON), /metrics (Prometheus)\n".into(),
        ),
    }
}

/// The uid owning the socket at `peer` connected to `local`, from the
/// kernel's table of TCP sockets.
fn tcp_peer_uid(local: SocketAddr, peer: SocketAddr) -> Option<u32> {
    let table = match peer {
        SocketAddr::V4(_) => "/proc/net/tcp",
        SocketAddr::V6(_) => "/proc/net/tcp6",
    };
    let text = std::fs::read_to_string(table).ok()?;
    let (want_local, want_remote) = (proc_address(peer), proc_address(local));
    text.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        (fields.get(1) == Some(&want_local.as_str())
            && fields.get(2) == Some(&want_remote.as_str()))
        .then(|| fields.get(7)?.parse().ok())
        .flatten()
    })
}

/// An address as /proc/net/tcp writes it: the address's 32-bit words in
/// host (little-endian) order, in hex, then the port.
fn proc_address(address: SocketAddr) -> String {
    let words: Vec<u8> = match address {
        SocketAddr::V4(a) => a.ip().octets().to_vec(),
        SocketAddr::V6(a) => a.ip().octets().to_vec(),
    };
    let hex: String = words
        .chunks(4)
        .map(|w| format!("{:08X}", u32::from_le_bytes([w[0], w[1], w[2], w[3]])))
        .collect();
    format!("{hex}:{:04X}", address.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_written_as_the_kernel_writes_them() {
        assert_eq!(
            proc_address("127.0.0.1:8080".parse().unwrap()),
            "0100007F:1F90"
        );
        assert_eq!(
            proc_address("[::1]:80".parse().unwrap()),
            "00000000000000000000000001000000:0050"
        );
    }

    #[test]
    fn a_connection_from_this_process_is_its_own_user() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server_side, _) = listener.accept().unwrap();
        let uid = tcp_peer_uid(
            server_side.local_addr().unwrap(),
            server_side.peer_addr().unwrap(),
        );
        assert_eq!(uid, Some(rustix::process::getuid().as_raw()));
        drop(client);
    }

    #[test]
    fn paths_and_methods_are_answered_or_refused() {
        let view = super::super::tests::view();
        assert_eq!(respond("GET /status HTTP/1.1\r\n", Some(&view)).0, "200 OK");
        assert_eq!(
            respond("GET /metrics?x=1 HTTP/1.1\r\n", Some(&view)).1,
            "text/plain; version=0.0.4; charset=utf-8"
        );
        assert_eq!(
            respond("GET /nope HTTP/1.1\r\n", Some(&view)).0,
            "404 Not Found"
        );
        assert_eq!(
            respond("POST / HTTP/1.1\r\n", Some(&view)).0,
            "405 Method Not Allowed"
        );
        assert_eq!(
            respond("GET / HTTP/1.1\r\n", None).0,
            "503 Service Unavailable"
        );
    }
}
