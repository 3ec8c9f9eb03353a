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
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

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
/// segment pass through a segment that may be the default one. What the
/// bridge publishes is judged by its own segment; what it takes in, by how
/// late it arrives, since another node's segment cannot be seen.
pub struct SegmentAdvisor {
    own: OwnSegment,
    warned: SayOnce,
    transits: Mutex<HashMap<String, Vec<Duration>>>,
}

/// How many large messages of a topic its verdict is based on.
const TRANSIT_SAMPLES: usize = 20;
/// How many first large messages of a topic it leaves out: the first one
/// or two after a match take 10-190 ms whatever the segment (measured).
const TRANSIT_WARM_UP: usize = 5;

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
            transits: Mutex::default(),
        }
    }

    /// `bytes`: the serialized size of one message the bridge publishes on
    /// `topic`. Cheap when there is nothing to say (two comparisons).
    pub fn check_published(&self, topic: &str, bytes: usize) {
        if bytes <= DEFAULT_SHM_SEGMENT || self.own != OwnSegment::Default {
            return;
        }
        if self.warned.first(topic) {
            tracing::warn!(
                "{}",
                advice(Direction::Published, self.own, topic, bytes, None)
            );
        }
    }

    /// `bytes`: the serialized size of one message taken from `topic`;
    /// `transit`: from its publication to its arrival here, when the
    /// middleware's timestamps tell it. Its topic's first large messages
    /// (after a few) decide: advice only when they came late (the repair rounds a small segment costs); at once when there
    /// is no time to judge by.
    pub fn check_received(&self, topic: &str, bytes: usize, transit: Option<Duration>) {
        if bytes <= DEFAULT_SHM_SEGMENT || self.own == OwnSegment::Configured {
            return;
        }
        let late = match transit {
            None => None,
            Some(transit) => {
                let mut transits = self.transits.lock().unwrap_or_else(|p| p.into_inner());
                let seen = transits.entry(topic.to_string()).or_default();
                if seen.len() >= TRANSIT_WARM_UP + TRANSIT_SAMPLES {
                    return; // decided
                }
                seen.push(transit);
                if seen.len() < TRANSIT_WARM_UP + TRANSIT_SAMPLES {
                    return;
                }
                match arrived_late(&mut seen[TRANSIT_WARM_UP..], bytes) {
                    Some(p90) => Some(p90),
                    None => return,
                }
            }
        };
        if self.warned.first(topic) {
            tracing::warn!(
                "{}",
                advice(Direction::Received, self.own, topic, bytes, late)
            );
        }
    }
}

/// The 90th percentile of `transits`, when it is beyond what a message of
/// `bytes` takes through a segment that holds it. Measured on loopback
/// (docs/performance.md, "the measurements behind the large-message
/// advice"): 640x480 frames take 0.2-0.7 ms with the profile on the
/// publisher, and on the defaults a third to a half take ~11 ms (one
/// repair round); an earlier run at 1080p gave 5.7 vs 32.5 ms at the 90th
/// percentile. The budget, 3 ms + 1.5 ms per MB, sits between.
fn arrived_late(transits: &mut [Duration], bytes: usize) -> Option<Duration> {
    transits.sort_unstable();
    let p90 = transits[(transits.len() * 9).div_ceil(10).saturating_sub(1)];
    let megabytes = bytes as f64 / 1e6;
    let budget = Duration::from_secs_f64(3e-3 + 1.5e-3 * megabytes);
    (p90 > budget).then_some(p90)
}

/// From a message's source timestamp to its received timestamp, both on
/// this machine's clock for a local publisher; `None` when either is
/// missing or the two disagree (a remote publisher's clock).
pub fn transit(source_timestamp_ns: i64, received_timestamp_ns: i64) -> Option<Duration> {
    if source_timestamp_ns <= 0 || received_timestamp_ns <= 0 {
        return None;
    }
    let nanos = received_timestamp_ns.checked_sub(source_timestamp_ns)?;
    let nanos = u64::try_from(nanos).ok()?;
    (nanos < 10_000_000_000).then(|| Duration::from_nanos(nanos))
}

fn advice(
    direction: Direction,
    own: OwnSegment,
    topic: &str,
    bytes: usize,
    late: Option<Duration>,
) -> String {
    let size = bytes as f64 / (1 << 20) as f64;
    let measured = late.map_or(",".to_string(), |p90| {
        format!(
            " arrive {:.1} ms after they were published (90th percentile of {TRANSIT_SAMPLES}),",
            p90.as_secs_f64() * 1e3
        )
    });
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
        "{topic}: messages of {size:.1} MB{measured} and {whose}: every message then waits for DDS's \
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
            None,
        );
        assert!(
            text.starts_with("/camera/image: messages of 5.9 MB, and this bridge"),
            "{text}"
        );
        assert!(
            text.contains("`ros2-dora-bridge fastdds-profile > large_messages.xml`"),
            "{text}"
        );
        assert!(text.contains("give the bridge a larger segment"), "{text}");
        let text = advice(
            Direction::Received,
            OwnSegment::Default,
            "/points",
            1 << 20,
            None,
        );
        assert!(
            text.contains("the nodes publishing it and the bridge"),
            "{text}"
        );
        let text = advice(
            Direction::Received,
            OwnSegment::BridgeProfile,
            "/points",
            1 << 20,
            Some(Duration::from_micros(12_050)),
        );
        assert!(
            text.starts_with(
                "/points: messages of 1.0 MB arrive 12.1 ms after they were published \
                 (90th percentile of 20), and if their publisher"
            ),
            "{text}"
        );
        assert!(text.contains("give the nodes publishing it a"), "{text}");
    }

    const BIG: usize = DEFAULT_SHM_SEGMENT + 1;

    fn ms(millis: f64) -> Option<Duration> {
        Some(Duration::from_secs_f64(millis / 1e3))
    }

    #[test]
    fn small_messages_and_configured_processes_get_no_advice() {
        let advisor = SegmentAdvisor::new(OwnSegment::Default);
        advisor.check_received("/small", DEFAULT_SHM_SEGMENT, None);
        advisor.check_published("/small", DEFAULT_SHM_SEGMENT);
        assert_eq!(advisor.warned.count(), 0);
        advisor.check_published("/big", BIG);
        assert_eq!(advisor.warned.count(), 1);
        let quiet = SegmentAdvisor::new(OwnSegment::Configured);
        quiet.check_received("/big", 10 << 20, None);
        quiet.check_published("/big", 10 << 20);
        assert_eq!(quiet.warned.count(), 0);
    }

    #[test]
    fn with_the_bridges_own_profile_what_it_publishes_gets_no_advice() {
        let advisor = SegmentAdvisor::new(OwnSegment::BridgeProfile);
        advisor.check_published("/out", 10 << 20);
        assert_eq!(advisor.warned.count(), 0);
        // No timestamps to judge by: said at once, as the publisher may
        // well have the default segment.
        advisor.check_received("/in", 10 << 20, None);
        assert_eq!(advisor.warned.count(), 1);
    }

    #[test]
    fn large_messages_taken_in_are_judged_by_how_late_they_arrive() {
        let advisor = SegmentAdvisor::new(OwnSegment::BridgeProfile);
        let vga = 921_600 + 60;
        let stream = |topic: &str, transits: &mut dyn Iterator<Item = f64>| {
            for millis in transits {
                advisor.check_received(topic, vga, ms(millis));
            }
        };
        // Measured with the profile on the publisher: the first two after
        // the match slow, then below 1 ms.
        let warm_up = [186.6, 86.7, 0.5, 0.4, 0.5];
        stream("/fast", &mut warm_up.into_iter().chain([0.5; 30]));
        assert_eq!(advisor.warned.count(), 0);
        // On Fast DDS's defaults: one in three waits for a repair round.
        let repaired = (0..).map(|k| if k % 3 == 0 { 11.0 } else { 0.5 });
        stream(
            "/slow",
            &mut warm_up.into_iter().chain(repaired.clone().take(19)),
        );
        assert_eq!(advisor.warned.count(), 0, "the verdict waits for 20");
        stream("/slow", &mut repaired.take(1));
        assert_eq!(advisor.warned.count(), 1);
        assert!(!advisor.warned.first("/slow"));
    }

    #[test]
    fn the_budget_grows_with_the_message() {
        let mut at_1080p = vec![Duration::from_secs_f64(5.7e-3); 10];
        assert_eq!(arrived_late(&mut at_1080p, 6_220_800), None);
        let mut at_1080p_default = vec![Duration::from_secs_f64(32.5e-3); 10];
        assert!(arrived_late(&mut at_1080p_default, 6_220_800).is_some());
    }

    #[test]
    fn transit_needs_both_timestamps_on_one_clock() {
        assert_eq!(
            transit(1_000_000, 3_500_000),
            Some(Duration::from_micros(2_500))
        );
        assert_eq!(transit(0, 3_500_000), None);
        assert_eq!(transit(3_500_000, 1_000_000), None);
        assert_eq!(transit(1, 20_000_000_001), None);
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
