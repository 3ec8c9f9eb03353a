//! The wire form of what rcl_action wraps around an action's own types: goal
//! ids, goal statuses, and the fixed messages of the protocol
//! (action_msgs' GoalInfo, GoalStatusArray, CancelGoal, and the accept
//! answer of `_SendGoal`).
//!
//! A goal id (`unique_identifier_msgs/UUID`, 16 bytes) leads every wrapper
//! that carries a goal's own message (`_SendGoal_Request`,
//! `_FeedbackMessage`, `_GetResult_Request`). 16 is a multiple of every CDR
//! alignment, so the rest of such a wrapper's body is the wrapped message's
//! body byte for byte: wrappers are made and split by splicing, without a
//! codec. `_GetResult_Response` starts with a 1-byte status, which shifts
//! the result's alignment: it goes through the codec instead.

use super::CodecError;
use super::cdr::{CdrReader, CdrWriter, HEADER_LEN};
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

/// A goal id: `unique_identifier_msgs/UUID`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GoalId(pub [u8; 16]);

impl GoalId {
    /// A random (version 4) id, as rclpy and rclcpp make them.
    pub fn random() -> Self {
        let mut bytes: [u8; 16] = rand_bytes();
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        GoalId(bytes)
    }

    /// 32 hex digits; dashes (as in `8d3c...-...`) are allowed.
    pub fn parse(text: &str) -> Result<Self, String> {
        let digits: Vec<u8> = text.bytes().filter(|&b| b != b'-').collect();
        let bad = || format!("goal id `{text}` is not 32 hex digits");
        if digits.len() != 32 || !digits.iter().all(u8::is_ascii_hexdigit) {
            return Err(bad());
        }
        let mut bytes = [0u8; 16];
        for (i, pair) in digits.chunks(2).enumerate() {
            let pair = std::str::from_utf8(pair).map_err(|_| bad())?;
            bytes[i] = u8::from_str_radix(pair, 16).map_err(|_| bad())?;
        }
        Ok(GoalId(bytes))
    }

    pub fn is_zero(&self) -> bool {
        self.0 == [0; 16]
    }
}

/// 32 lower-case hex digits, no dashes: the form goal ids take in dora
/// metadata.
impl fmt::Display for GoalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

/// Random bytes without a dependency: std's hasher is seeded randomly per
/// process, and mixing in a counter and the time makes each call differ.
fn rand_bytes() -> [u8; 16] {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let state = RandomState::new();
    let mut out = [0u8; 16];
    for half in out.chunks_mut(8) {
        let mut hasher = state.build_hasher();
        hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        hasher.write_u128(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos(),
        );
        half.copy_from_slice(&hasher.finish().to_le_bytes());
    }
    out
}

/// `builtin_interfaces/Time`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Stamp {
    pub sec: i32,
    pub nanosec: u32,
}

impl Stamp {
    pub fn now() -> Self {
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Stamp {
            sec: since.as_secs().min(i32::MAX as u64) as i32,
            nanosec: since.subsec_nanos(),
        }
    }

    pub fn is_zero(&self) -> bool {
        *self == Stamp::default()
    }
}

/// `action_msgs/msg/GoalStatus` codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GoalStatus {
    Unknown = 0,
    Accepted = 1,
    Executing = 2,
    Canceling = 3,
    Succeeded = 4,
    Canceled = 5,
    Aborted = 6,
}

impl GoalStatus {
    pub fn from_code(code: i8) -> Self {
        use GoalStatus::*;
        match code {
            1 => Accepted,
            2 => Executing,
            3 => Canceling,
            4 => Succeeded,
            5 => Canceled,
            6 => Aborted,
            _ => Unknown,
        }
    }

    pub fn code(self) -> i8 {
        self as i8
    }

    /// The lower-case name used in dora metadata.
    pub fn name(self) -> &'static str {
        use GoalStatus::*;
        match self {
            Unknown => "unknown",
            Accepted => "accepted",
            Executing => "executing",
            Canceling => "canceling",
            Succeeded => "succeeded",
            Canceled => "canceled",
            Aborted => "aborted",
        }
    }

    /// How far along a goal is: a goal's status never goes back.
    pub fn progress(self) -> u8 {
        use GoalStatus::*;
        match self {
            Unknown => 0,
            Accepted => 1,
            Executing => 2,
            Canceling => 3,
            Succeeded | Canceled | Aborted => 4,
        }
    }

    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            GoalStatus::Succeeded | GoalStatus::Canceled | GoalStatus::Aborted
        )
    }
}

/// `action_msgs/srv/CancelGoal` return codes.
pub mod cancel_code {
    pub const NONE: i8 = 0;
    pub const REJECTED: i8 = 1;
    pub const UNKNOWN_GOAL_ID: i8 = 2;
    pub const GOAL_TERMINATED: i8 = 3;
}

/// `{goal_id, <inner>}`: the wrapper around a message given as CDR.
pub fn wrap(id: GoalId, inner: &[u8]) -> Vec<u8> {
    let (header, body) = inner.split_at(HEADER_LEN.min(inner.len()));
    let mut cdr = Vec::with_capacity(inner.len() + 16);
    cdr.extend_from_slice(header);
    cdr.extend_from_slice(&id.0);
    cdr.extend_from_slice(body);
    cdr
}

/// Splits `{goal_id, <inner>}` into the id and the inner message's CDR.
pub fn unwrap(cdr: &[u8]) -> Result<(GoalId, Vec<u8>), CodecError> {
    let mut reader = CdrReader::new(cdr)?;
    let id = read_goal_id(&mut reader)?;
    let mut inner = Vec::with_capacity(cdr.len() - 16);
    inner.extend_from_slice(&cdr[..HEADER_LEN]);
    inner.extend_from_slice(&cdr[HEADER_LEN + 16..]);
    Ok((id, inner))
}

/// Only the goal id of a wrapper.
pub fn goal_id_of(cdr: &[u8]) -> Result<GoalId, CodecError> {
    read_goal_id(&mut CdrReader::new(cdr)?)
}

/// `_GetResult_Request`: just the goal id.
pub fn goal_id_message(id: GoalId) -> Vec<u8> {
    let mut w = CdrWriter::default();
    w.write_bytes(&id.0);
    w.into_bytes()
}

/// `_SendGoal_Response`: `{bool accepted, Time stamp}`.
pub fn send_goal_response(accepted: bool, stamp: Stamp) -> Vec<u8> {
    let mut w = CdrWriter::default();
    w.write_bytes(&[accepted as u8]);
    write_stamp(&mut w, stamp);
    w.into_bytes()
}

pub fn read_send_goal_response(cdr: &[u8]) -> Result<(bool, Stamp), CodecError> {
    let mut r = CdrReader::new(cdr)?;
    let accepted = r.read_u8()? != 0;
    Ok((accepted, read_stamp(&mut r)?))
}

/// `action_msgs/msg/GoalInfo`, which is also the whole
/// `CancelGoal_Request`.
pub fn goal_info(id: GoalId, stamp: Stamp) -> Vec<u8> {
    let mut w = CdrWriter::default();
    write_goal_info(&mut w, id, stamp);
    w.into_bytes()
}

pub fn read_goal_info(cdr: &[u8]) -> Result<(GoalId, Stamp), CodecError> {
    let mut r = CdrReader::new(cdr)?;
    Ok((read_goal_id(&mut r)?, read_stamp(&mut r)?))
}

/// `CancelGoal_Response`: `{int8 return_code, GoalInfo[] goals_canceling}`.
pub fn cancel_response(code: i8, canceling: &[(GoalId, Stamp)]) -> Vec<u8> {
    let mut w = CdrWriter::default();
    w.write_bytes(&[code as u8]);
    w.write_u32(canceling.len() as u32);
    for &(id, stamp) in canceling {
        write_goal_info(&mut w, id, stamp);
    }
    w.into_bytes()
}

pub fn read_cancel_response(cdr: &[u8]) -> Result<(i8, Vec<GoalId>), CodecError> {
    let mut r = CdrReader::new(cdr)?;
    let code = r.read_u8()? as i8;
    let count = r.read_length(24)?;
    let mut goals = Vec::with_capacity(count);
    for _ in 0..count {
        goals.push(read_goal_id(&mut r)?);
        read_stamp(&mut r)?;
    }
    Ok((code, goals))
}

/// `action_msgs/msg/GoalStatusArray`.
pub fn status_array(goals: &[(GoalId, Stamp, GoalStatus)]) -> Vec<u8> {
    let mut w = CdrWriter::default();
    w.write_u32(goals.len() as u32);
    for &(id, stamp, status) in goals {
        write_goal_info(&mut w, id, stamp);
        w.write_bytes(&[status.code() as u8]);
    }
    w.into_bytes()
}

pub fn read_status_array(cdr: &[u8]) -> Result<Vec<(GoalId, GoalStatus)>, CodecError> {
    let mut r = CdrReader::new(cdr)?;
    let count = r.read_length(25)?;
    let mut goals = Vec::with_capacity(count);
    for _ in 0..count {
        let id = read_goal_id(&mut r)?;
        read_stamp(&mut r)?;
        goals.push((id, GoalStatus::from_code(r.read_u8()? as i8)));
    }
    Ok(goals)
}

fn write_goal_info(w: &mut CdrWriter, id: GoalId, stamp: Stamp) {
    w.write_bytes(&id.0);
    write_stamp(w, stamp);
}

fn write_stamp(w: &mut CdrWriter, stamp: Stamp) {
    w.write_scalar(&stamp.sec.to_le_bytes());
    w.write_u32(stamp.nanosec);
}

fn read_goal_id(r: &mut CdrReader<'_>) -> Result<GoalId, CodecError> {
    let bytes = r.take_aligned(16, 1).map_err(|e| e.within("goal_id"))?;
    Ok(GoalId(bytes.try_into().expect("length checked")))
}

fn read_stamp(r: &mut CdrReader<'_>) -> Result<Stamp, CodecError> {
    let sec = r.read_u32().map_err(|e| e.within("stamp.sec"))? as i32;
    let nanosec = r.read_u32().map_err(|e| e.within("stamp.nanosec"))?;
    Ok(Stamp { sec, nanosec })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goal_ids_print_as_32_hex_digits_and_parse_back_with_or_without_dashes() {
        let id = GoalId::random();
        assert_eq!(GoalId::parse(&id.to_string()), Ok(id));
        let dashed = "8d3c0f52-1b7e-4a5e-9f00-0123456789ab";
        let parsed = GoalId::parse(dashed).unwrap();
        assert_eq!(parsed.to_string(), dashed.replace('-', ""));
        assert!(GoalId::parse("xyz").is_err());
        assert!(GoalId::parse(&"g".repeat(32)).is_err());
        assert!(GoalId::parse(&"+1".repeat(16)).is_err());
        assert_ne!(GoalId::random(), GoalId::random());
    }

    #[test]
    fn wrapping_splices_the_goal_id_in_front_of_the_inner_body() {
        let inner = vec![0, 1, 0, 0, 7, 0, 0, 0];
        let id = GoalId([9; 16]);
        let wrapped = wrap(id, &inner);
        assert_eq!(wrapped.len(), inner.len() + 16);
        assert_eq!(unwrap(&wrapped).unwrap(), (id, inner));
        assert_eq!(goal_id_of(&wrapped).unwrap(), id);
        assert!(unwrap(&[0, 1, 0, 0, 1, 2]).is_err());
    }

    #[test]
    fn status_arrays_and_cancel_answers_read_back_what_was_written() {
        let goals = [
            (
                GoalId([1; 16]),
                Stamp { sec: 5, nanosec: 6 },
                GoalStatus::Executing,
            ),
            (GoalId([2; 16]), Stamp::now(), GoalStatus::Aborted),
        ];
        let cdr = status_array(&goals);
        // Header, count, then per goal 16 + 8 + 1 bytes; the second goal's
        // stamp is aligned to 4 (3 bytes of padding after its id).
        assert_eq!(cdr.len(), 4 + 4 + 25 + 16 + 3 + 9);
        let read = read_status_array(&cdr).unwrap();
        assert_eq!(
            read,
            vec![(goals[0].0, goals[0].2), (goals[1].0, goals[1].2)]
        );
        let canceling = [(goals[0].0, goals[0].1)];
        let answer = cancel_response(cancel_code::NONE, &canceling);
        assert_eq!(
            read_cancel_response(&answer).unwrap(),
            (cancel_code::NONE, vec![goals[0].0])
        );
        let info = goal_info(goals[1].0, goals[1].1);
        assert_eq!(read_goal_info(&info).unwrap(), (goals[1].0, goals[1].1));
        let accepted = send_goal_response(true, goals[0].1);
        assert_eq!(
            read_send_goal_response(&accepted).unwrap(),
            (true, goals[0].1)
        );
    }
}
