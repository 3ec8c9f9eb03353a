//! Fast DDS and large messages. Fast DDS hands every message to a reader on
//! the same machine through the *writer's* shared-memory segment, 512 KB by
//! default. A larger message does not fit: the fragments that find no room
//! wait for DDS's reliability repair (heartbeat, NACK: about 5 ms a round),
//! on every message. Measured: one relay's round trip at 640x480 goes from
//! 10 to 2.5 ms with a 32 MB segment on both ends, at 1080p from 32 to 9 ms
//! (docs/performance.md). The bridge cannot change the segment of the
//! process it is in once rcl is up, nor see another node's, so it says once
//! per topic what to set.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Mutex;

/// Fast DDS's shared-memory segment when nothing configures it.
pub const DEFAULT_SHM_SEGMENT: usize = 512 * 1024;

/// The profile the package ships for large messages.
pub const LARGE_MESSAGES_PROFILE: &str = "config/fastdds_large_messages.xml";

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

/// Warns once per topic when messages larger than Fast DDS's default
/// segment pass through a bridge running with Fast DDS's defaults.
pub struct SegmentAdvisor {
    active: bool,
    warned: Mutex<HashSet<String>>,
}

impl SegmentAdvisor {
    /// For this process: its RMW, environment and working directory.
    pub fn for_this_process() -> Self {
        let working_dir = std::env::current_dir().unwrap_or_default();
        Self::new(default_transports(
            &super::rcl::rmw_implementation(),
            |name| std::env::var(name).ok(),
            &working_dir,
        ))
    }

    pub fn new(active: bool) -> Self {
        SegmentAdvisor {
            active,
            warned: Mutex::new(HashSet::new()),
        }
    }

    /// `bytes`: the serialized size of one message on `topic`. Cheap when
    /// there is nothing to say (one comparison).
    pub fn check(&self, direction: Direction, topic: &str, bytes: usize) {
        if !self.active || bytes <= DEFAULT_SHM_SEGMENT {
            return;
        }
        let mut warned = self.warned.lock().unwrap_or_else(|p| p.into_inner());
        if !warned.insert(topic.to_string()) {
            return;
        }
        tracing::warn!("{}", advice(direction, topic, bytes));
    }
}

fn advice(direction: Direction, topic: &str, bytes: usize) -> String {
    let size = bytes as f64 / (1 << 20) as f64;
    let whose = match direction {
        Direction::Published => {
            "this bridge publishes them from Fast DDS's default 512 KB shared-memory segment"
        }
        Direction::Received => {
            "if their publisher runs with Fast DDS's defaults like this bridge, \
             they come through a 512 KB shared-memory segment"
        }
    };
    let who = match direction {
        Direction::Published => "the bridge",
        Direction::Received => "the nodes publishing it and the bridge",
    };
    format!(
        "{topic}: messages of {size:.1} MB, and {whose}: every message then waits for DDS's \
         repair rounds (about 5 ms each; 3x the latency at 1080p). For large messages give \
         {who} a larger segment: export FASTRTPS_DEFAULT_PROFILES_FILE=$(ros2 pkg prefix \
         ros2_dora_bridge)/share/ros2_dora_bridge/{LARGE_MESSAGES_PROFILE} \
         (docs/configuration.md, \"Large messages\")"
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
        let text = advice(Direction::Published, "/camera/image", 6_220_848);
        assert!(
            text.starts_with("/camera/image: messages of 5.9 MB"),
            "{text}"
        );
        assert!(text.contains(LARGE_MESSAGES_PROFILE), "{text}");
        assert!(text.contains("give the bridge a larger segment"), "{text}");
        let text = advice(Direction::Received, "/points", 1 << 20);
        assert!(
            text.contains("the nodes publishing it and the bridge"),
            "{text}"
        );
    }

    #[test]
    fn small_messages_and_configured_processes_get_no_advice() {
        let advisor = SegmentAdvisor::new(true);
        advisor.check(Direction::Received, "/small", DEFAULT_SHM_SEGMENT);
        assert!(advisor.warned.lock().unwrap().is_empty());
        advisor.check(Direction::Received, "/big", DEFAULT_SHM_SEGMENT + 1);
        advisor.check(Direction::Published, "/big", DEFAULT_SHM_SEGMENT + 1);
        assert_eq!(advisor.warned.lock().unwrap().len(), 1);
        let quiet = SegmentAdvisor::new(false);
        quiet.check(Direction::Received, "/big", 10 << 20);
        assert!(quiet.warned.lock().unwrap().is_empty());
    }
}
