//! Fast DDS and large messages. Fast DDS hands every message to a reader on
//! the same machine through the *writer's* shared-memory segment, 512 KB by
//! default. A larger message does not fit: the fragments that find no room
//! wait for DDS's reliability repair (heartbeat, NACK: about 5 ms a round),
//! on every message. Measured: one relay's round trip at 640x480 goes from
//! 10 to 2.5 ms with a 32 MB segment on both ends, at 1080p from 32 to 9 ms
//! (docs/performance.md).
//!
//! So when nothing configures Fast DDS, the bridge gives its own process
//! the shipped large-messages profile before rcl starts: what it publishes
//! is fast without any setup. It cannot see or change another node's
//! segment, so for large messages it takes in it says once per topic what
//! to set on the publishing side (and, with `--fastdds-defaults` or a
//! profile of the user's own that keeps the default, on its own side).

use crate::throttle::SayOnce;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Fast DDS's shared-memory segment when nothing configures it.
pub const DEFAULT_SHM_SEGMENT: usize = 512 * 1024;

/// The profile the package ships for large messages.
pub const LARGE_MESSAGES_PROFILE: &str = "config/fastdds_large_messages.xml";

/// The shipped large-messages profile, built in so that the bridge can use
/// it wherever it runs from.
const LARGE_MESSAGES_XML: &str = include_str!("../../config/fastdds_large_messages.xml");

/// The shipped large-messages profile's text (`fastdds-profile`): the
/// same wherever the bridge is installed.
pub fn large_messages_profile() -> &'static str {
    LARGE_MESSAGES_XML
}

/// The segment that profile sets.
const LARGE_MESSAGES_SEGMENT: u64 = 32 << 20;

/// Below this much free room in /dev/shm (Docker gives containers 64 MB)
/// the bridge keeps the default: the segment's pages are taken as messages
/// fill it, and a full /dev/shm would crash the process.
const MIN_FREE_SHM: u64 = 8 * LARGE_MESSAGES_SEGMENT;

/// Where Fast DDS 2 (Jazzy) and 3 look for the profiles file.
const PROFILE_VARIABLES: [&str; 2] = [
    "FASTRTPS_DEFAULT_PROFILES_FILE",
    "FASTDDS_DEFAULT_PROFILES_FILE",
];

/// Names the profile file the bridge wrote for itself, in the environment
/// of the process image it re-executes into.
const OWN_PROFILE_VARIABLE: &str = "ROS2_DORA_BRIDGE_OWN_FASTDDS_PROFILE";

/// Set when this process runs the built-in profile.
static OWN_PROFILE: OnceLock<PathBuf> = OnceLock::new();

/// The profile file written for this process; removed once the
/// participant exists ([`participant_created`]), or on drop.
pub struct OwnProfile(PathBuf);

impl Drop for OwnProfile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Call first thing in `main`: when this process would run Fast DDS with
/// its built-in transports, give it the large-messages profile. Fast DDS
/// reads its profile from the environment, which a running process cannot
/// safely change (libraries start threads before `main`), so the process
/// re-executes itself (same pid, arguments and streams) with the profile
/// set. Returns the profile file, to keep until the process exits.
pub fn use_large_messages_profile_by_default() -> Option<OwnProfile> {
    if let Some(path) = std::env::var_os(OWN_PROFILE_VARIABLE).map(PathBuf::from) {
        // The re-executed image: the profile is ours if it is still the one set.
        if PROFILE_VARIABLES
            .iter()
            .any(|v| std::env::var_os(v).is_some_and(|p| p == path.as_os_str()))
        {
            tracing::info!(
                "Fast DDS: no profile configured, so this process uses the bridge's \
                 large-messages profile ({} MB shared-memory segment): large messages it \
                 publishes go out without waiting for repairs. A profile of your own \
                 (FASTRTPS_DEFAULT_PROFILES_FILE, or FASTDDS_DEFAULT_PROFILES_FILE with Fast DDS 3) replaces it; --fastdds-defaults keeps \
                 Fast DDS's defaults",
                LARGE_MESSAGES_SEGMENT >> 20
            );
            let _ = OWN_PROFILE.set(path.clone());
            return Some(OwnProfile(path));
        }
        return None;
    }
    // The variable, not rmw_get_implementation_identifier: asking rmw would
    // load it in a process image about to be replaced.
    let rmw = std::env::var("RMW_IMPLEMENTATION")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| "rmw_fastrtps_cpp".to_string());
    let working_dir = std::env::current_dir().unwrap_or_default();
    if !default_transports(&rmw, |name| std::env::var(name).ok(), &working_dir) {
        return None;
    }
    let free_shm = rustix::fs::statvfs("/dev/shm")
        .map(|s| s.f_bavail.saturating_mul(s.f_frsize))
        .unwrap_or(0);
    if free_shm < MIN_FREE_SHM {
        tracing::info!(
            "Fast DDS keeps its 512 KB shared-memory segment: /dev/shm has {} MB free, \
             under the {} MB the bridge wants before taking a {} MB segment",
            free_shm >> 20,
            MIN_FREE_SHM >> 20,
            LARGE_MESSAGES_SEGMENT >> 20
        );
        return None;
    }
    let dir = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|d| d.is_dir())
        .unwrap_or_else(std::env::temp_dir);
    let path = dir.join(format!(
        "ros2_dora_bridge-{}-fastdds_large_messages.xml",
        std::process::id()
    ));
    if let Err(e) = write_new(&path, LARGE_MESSAGES_XML) {
        tracing::warn!(
            "Fast DDS keeps its 512 KB shared-memory segment: cannot write {}: {e}",
            path.display()
        );
        return None;
    }
    let error = reexecute_with(&path);
    let _ = std::fs::remove_file(&path);
    tracing::warn!(
        "Fast DDS keeps its 512 KB shared-memory segment: cannot re-execute the bridge \
         with its large-messages profile: {error}"
    );
    None
}

/// Replaces this process image by a fresh one of the same executable and
/// arguments, with the profile in its environment; returns only on failure.
fn reexecute_with(profile: &Path) -> std::io::Error {
    use std::os::unix::process::CommandExt;
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => return e,
    };
    let mut args = std::env::args_os();
    let mut command = std::process::Command::new(exe);
    if let Some(arg0) = args.next() {
        command.arg0(arg0);
    }
    command.args(args).env(OWN_PROFILE_VARIABLE, profile);
    for variable in PROFILE_VARIABLES {
        command.env(variable, profile);
    }
    command.exec()
}

/// Call once this process's DDS participant exists: Fast DDS reads its
/// profiles when it creates the first participant and never again, so the
/// bridge's profile file goes now rather than at exit (which a killed
/// process never reaches).
pub fn participant_created() {
    if let Some(path) = OWN_PROFILE.get() {
        let _ = std::fs::remove_file(path);
    }
}

/// Creates `path` afresh (a leftover of a killed process with the same
/// pid is replaced; an existing file is never written through).
fn write_new(path: &Path, text: &str) -> std::io::Result<()> {
    let create = || {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
    };
    let mut file = match create() {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            std::fs::remove_file(path)?;
            create()?
        }
        other => other?,
    };
    file.write_all(text.as_bytes())
}

/// Environment variables through which Fast DDS takes a configuration.
const CONFIG_VARIABLES: [&str; 3] = [
    "FASTRTPS_DEFAULT_PROFILES_FILE",
    "FASTDDS_DEFAULT_PROFILES_FILE",
    "FASTDDS_BUILTIN_TRANSPORTS",
];

/// Files Fast DDS loads from the working directory when present.
const CONFIG_FILES: [&str; 2] = [
    "DEFAULT_FASTRTPS_PROFILES.xml",
    "DEFAULT_FASTDDS_PROFILES.xml",
];

/// Whether this process runs Fast DDS with its built-in transports, i.e.
/// the 512 KB segment: a Fast DDS RMW, and no profile or transport setting
/// (whose segment size we do not second-guess).
pub fn default_transports(
    rmw: &str,
    variable: impl Fn(&str) -> Option<String>,
    working_dir: &Path,
) -> bool {
    rmw.starts_with("rmw_fastrtps")
        && CONFIG_VARIABLES
            .iter()
            .all(|name| variable(name).is_none_or(|v| v.trim().is_empty()))
        && CONFIG_FILES
            .iter()
            .all(|file| !working_dir.join(file).exists())
}

/// Which way a large message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Taken from ROS: the publishing node's segment is the one that counts.
    Received,
    /// Published by the bridge: the bridge's own segment counts.
    Published,
}

/// What this process's own Fast DDS segment is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnSegment {
    /// Fast DDS's default 512 KB.
    Default,
    /// The bridge's built-in large-messages profile.
    BridgeProfile,
    /// Configured by the user, or not Fast DDS: nothing to say.
    Configured,
}

/// Warns once per topic when messages larger than Fast DDS's default
/// segment pass through a segment that may be the default one.
pub struct SegmentAdvisor {
    own: OwnSegment,
    warned: SayOnce,
}

impl SegmentAdvisor {
    /// For this process: its RMW, environment and working directory.
    pub fn for_this_process() -> Self {
        if OWN_PROFILE.get().is_some() {
            return Self::new(OwnSegment::BridgeProfile);
        }
        let working_dir = std::env::current_dir().unwrap_or_default();
        let default = default_transports(
            &super::rcl::rmw_implementation(),
            |name| std::env::var(name).ok(),
            &working_dir,
        );
        Self::new(if default {
            OwnSegment::Default
        } else {
            OwnSegment::Configured
        })
    }

    pub fn new(own: OwnSegment) -> Self {
        SegmentAdvisor {
            own,
            warned: SayOnce::default(),
        }
    }

    /// `bytes`: the serialized size of one message on `topic`. Cheap when
    /// there is nothing to say (two comparisons).
    pub fn check(&self, direction: Direction, topic: &str, bytes: usize) {
        if bytes <= DEFAULT_SHM_SEGMENT {
            return;
        }
        let worth_saying = match (self.own, direction) {
            (OwnSegment::Configured, _) => false,
            (OwnSegment::BridgeProfile, Direction::Published) => false,
            (OwnSegment::BridgeProfile, Direction::Received) | (OwnSegment::Default, _) => true,
        };
        if !worth_saying {
            return;
        }
        if !self.warned.first(topic) {
            return;
        }
        tracing::warn!("{}", advice(direction, self.own, topic, bytes));
    }
}

fn advice(direction: Direction, own: OwnSegment, topic: &str, bytes: usize) -> String {
    let size = bytes as f64 / (1 << 20) as f64;
    let whose = match direction {
        Direction::Published => {
            "this bridge publishes them from Fast DDS's default 512 KB shared-memory segment"
        }
        Direction::Received => {
            "if their publisher runs with Fast DDS's defaults, \
             they come through a 512 KB shared-memory segment"
        }
    };
    let who = match (direction, own) {
        (Direction::Published, _) => "the bridge",
        (Direction::Received, OwnSegment::Default) => "the nodes publishing it and the bridge",
        (Direction::Received, _) => "the nodes publishing it",
    };
    format!(
        "{topic}: messages of {size:.1} MB, and {whose}: every message then waits for DDS's \
         repair rounds (about 5 ms each; 3x the latency at 1080p). For large messages give \
         {who} a larger segment: `ros2-dora-bridge fastdds-profile > large_messages.xml` \
         writes the bridge's profile (a 32 MB segment), then start them with \
         FASTRTPS_DEFAULT_PROFILES_FILE=$PWD/large_messages.xml (FASTDDS_DEFAULT_PROFILES_FILE \
         with Fast DDS 3, Kilted on; docs/configuration.md, \"Large messages\")"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_variables(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn defaults_only_for_fast_dds_without_any_configuration() {
        let empty_dir = tempfile::tempdir().unwrap();
        let empty = empty_dir.path();
        assert!(default_transports("rmw_fastrtps_cpp", no_variables, empty));
        assert!(default_transports(
            "rmw_fastrtps_dynamic_cpp",
            no_variables,
            empty
        ));
        assert!(!default_transports(
            "rmw_cyclonedds_cpp",
            no_variables,
            empty
        ));
        let profile = |name: &str| {
            (name == "FASTRTPS_DEFAULT_PROFILES_FILE").then(|| "/some/profile.xml".to_string())
        };
        assert!(!default_transports("rmw_fastrtps_cpp", profile, empty));
        let transports =
            |name: &str| (name == "FASTDDS_BUILTIN_TRANSPORTS").then(|| "LARGE_DATA".to_string());
        assert!(!default_transports("rmw_fastrtps_cpp", transports, empty));
        let blank = |_: &str| Some(" ".to_string());
        assert!(default_transports("rmw_fastrtps_cpp", blank, empty));

        let with_file = tempfile::tempdir().unwrap();
        std::fs::write(
            with_file.path().join("DEFAULT_FASTRTPS_PROFILES.xml"),
            "<dds/>",
        )
        .unwrap();
        assert!(!default_transports(
            "rmw_fastrtps_cpp",
            no_variables,
            with_file.path()
        ));
    }

    #[test]
    fn advice_names_topic_size_and_profile() {
        let text = advice(
            Direction::Published,
            OwnSegment::Default,
            "/camera/image",
            6_220_848,
        );
        assert!(
            text.starts_with("/camera/image: messages of 5.9 MB"),
            "{text}"
        );
        assert!(
            text.contains("`ros2-dora-bridge fastdds-profile > large_messages.xml`"),
            "{text}"
        );
        assert!(text.contains("give the bridge a larger segment"), "{text}");
        let text = advice(Direction::Received, OwnSegment::Default, "/points", 1 << 20);
        assert!(
            text.contains("the nodes publishing it and the bridge"),
            "{text}"
        );
        let text = advice(
            Direction::Received,
            OwnSegment::BridgeProfile,
            "/points",
            1 << 20,
        );
        assert!(text.contains("give the nodes publishing it a"), "{text}");
    }

    #[test]
    fn small_messages_and_configured_processes_get_no_advice() {
        let advisor = SegmentAdvisor::new(OwnSegment::Default);
        advisor.check(Direction::Received, "/small", DEFAULT_SHM_SEGMENT);
        assert_eq!(advisor.warned.count(), 0);
        advisor.check(Direction::Received, "/big", DEFAULT_SHM_SEGMENT + 1);
        advisor.check(Direction::Published, "/big", DEFAULT_SHM_SEGMENT + 1);
        assert_eq!(advisor.warned.count(), 1);
        let quiet = SegmentAdvisor::new(OwnSegment::Configured);
        quiet.check(Direction::Received, "/big", 10 << 20);
        assert_eq!(quiet.warned.count(), 0);
    }

    #[test]
    fn with_the_bridges_own_profile_only_what_it_takes_in_gets_advice() {
        let advisor = SegmentAdvisor::new(OwnSegment::BridgeProfile);
        advisor.check(Direction::Published, "/out", 10 << 20);
        assert_eq!(advisor.warned.count(), 0);
        advisor.check(Direction::Received, "/in", 10 << 20);
        assert_eq!(advisor.warned.count(), 1);
    }

    #[test]
    fn a_leftover_profile_file_is_replaced_not_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("profile.xml");
        std::fs::write(&path, "stale").unwrap();
        write_new(&path, "<dds/>").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "<dds/>");
        let elsewhere = dir.path().join("elsewhere");
        std::fs::write(&elsewhere, "keep").unwrap();
        std::fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink(&elsewhere, &path).unwrap();
        write_new(&path, "<dds/>").unwrap();
        assert_eq!(std::fs::read_to_string(&elsewhere).unwrap(), "keep");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "<dds/>");
    }
}
