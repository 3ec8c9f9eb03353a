//! `admin:`: where the bridge serves its live view (JSON and Prometheus
//! metrics) to the local user.

use anyhow::bail;
use serde::{Deserialize, Deserializer};
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;

/// The admin endpoint's default address (`admin: {}`); `status` and `top`
/// look there unless told otherwise.
pub const DEFAULT_ADMIN_ADDRESS: &str = "127.0.0.1:9791";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminSection {
    /// `127.0.0.1:PORT` (loopback only) or the path of a Unix socket.
    #[serde(default = "default_listen", deserialize_with = "admin_address")]
    pub listen: AdminAddress,
}

/// Where an admin endpoint is: a loopback TCP port, or a Unix socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminAddress {
    Tcp(SocketAddr),
    Unix(PathBuf),
}

impl AdminAddress {
    /// A path (anything with a `/`) is a Unix socket; else `host:port`,
    /// which must be a loopback address: the endpoint has no password, and
    /// only the bridge's own user may read it.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        if text.contains('/') {
            return Ok(AdminAddress::Unix(PathBuf::from(text)));
        }
        let Ok(mut addresses) = text.to_socket_addrs() else {
            bail!(
                "`{text}` is neither host:port (e.g. {DEFAULT_ADMIN_ADDRESS}) nor a socket path \
                 (e.g. /tmp/bridge.sock)"
            );
        };
        match addresses.find(|a| a.ip().is_loopback()) {
            Some(address) => Ok(AdminAddress::Tcp(address)),
            None => bail!(
                "`{text}` is not a loopback address: the admin endpoint listens on 127.0.0.1, \
                 ::1 or a Unix socket only (reach it from elsewhere through ssh -L)"
            ),
        }
    }
}

impl std::fmt::Display for AdminAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AdminAddress::Tcp(address) => write!(f, "{address}"),
            AdminAddress::Unix(path) => write!(f, "{}", path.display()),
        }
    }
}

fn default_listen() -> AdminAddress {
    AdminAddress::parse(DEFAULT_ADMIN_ADDRESS).expect("the default is a loopback address")
}

fn admin_address<'de, D: Deserializer<'de>>(d: D) -> Result<AdminAddress, D::Error> {
    let text = String::deserialize(d)?;
    AdminAddress::parse(&text).map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_ports_and_socket_paths_are_taken_others_refused() {
        assert_eq!(
            AdminAddress::parse("127.0.0.1:9000").unwrap(),
            AdminAddress::Tcp("127.0.0.1:9000".parse().unwrap())
        );
        assert!(matches!(
            AdminAddress::parse("localhost:9000").unwrap(),
            AdminAddress::Tcp(a) if a.ip().is_loopback()
        ));
        assert_eq!(
            AdminAddress::parse("/run/user/1000/bridge.sock").unwrap(),
            AdminAddress::Unix("/run/user/1000/bridge.sock".into())
        );
        let remote = AdminAddress::parse("0.0.0.0:9000").unwrap_err().to_string();
        assert!(remote.contains("not a loopback"), "{remote}");
        let nonsense = AdminAddress::parse("bridge").unwrap_err().to_string();
        assert!(nonsense.contains("neither host:port"), "{nonsense}");
    }
}
