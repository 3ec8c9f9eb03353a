//! One GET to a bridge's admin endpoint (what `status` and `top` do).

use super::BridgeView;
use crate::config::AdminAddress;
use anyhow::{Context, bail};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(3);

/// The body of `GET path`, if the bridge answered 200.
pub fn get(address: &AdminAddress, path: &str) -> anyhow::Result<String> {
    let request = format!("GET {path} HTTP/1.0\r\nHost: bridge\r\n\r\n");
    let mut answer = Vec::new();
    let unreachable = || {
        format!(
            "no bridge answers on {address}: is it running with `admin: {{listen: {address}}}` \
             in its config?"
        )
    };
    match address {
        AdminAddress::Tcp(at) => {
            let mut stream = TcpStream::connect_timeout(at, TIMEOUT).with_context(unreachable)?;
            stream.set_read_timeout(Some(TIMEOUT))?;
            stream.write_all(request.as_bytes())?;
            stream.read_to_end(&mut answer)?;
        }
        AdminAddress::Unix(path) => {
            let mut stream = UnixStream::connect(path).with_context(unreachable)?;
            stream.set_read_timeout(Some(TIMEOUT))?;
            stream.write_all(request.as_bytes())?;
            stream.read_to_end(&mut answer)?;
        }
    }
    let text = String::from_utf8_lossy(&answer);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        bail!("{address} answered something that is not HTTP (closed early?)");
    };
    let status = head.lines().next().unwrap_or_default();
    if !status.contains(" 200 ") {
        bail!("{address}: {status}: {}", body.trim());
    }
    Ok(body.to_string())
}

/// The bridge's current view.
pub fn view(address: &AdminAddress) -> anyhow::Result<BridgeView> {
    let body = get(address, "/status")?;
    serde_json::from_str(&body).with_context(|| format!("{address}: not a bridge's status"))
}
