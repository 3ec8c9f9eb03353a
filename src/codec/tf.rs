//! The wire form of TF: `tf2_msgs/msg/TFMessage` (a sequence of
//! `geometry_msgs/msg/TransformStamped`) read into plain transforms and
//! written back, for the bridge's transform buffer, its lookup answers and
//! its `/tf_static` publisher, which republishes every static transform it
//! was given (as tf2's StaticTransformBroadcaster does) so that a late
//! joiner gets the whole set from one latched message.

use super::CodecError;
use super::cdr::{CdrReader, CdrWriter};
use std::collections::BTreeMap;

/// One `geometry_msgs/TransformStamped`: `parent` (header.frame_id) from
/// `child` (child_frame_id) at `stamp_ns`.
#[derive(Debug, Clone, PartialEq)]
pub struct WireTransform {
    pub parent: String,
    pub child: String,
    pub stamp_ns: i64,
    pub translation: [f64; 3],
    /// x, y, z, w.
    pub rotation: [f64; 4],
}

/// The transforms of a `tf2_msgs/msg/TFMessage` sample.
pub fn read_tf_message(cdr: &[u8]) -> Result<Vec<WireTransform>, CodecError> {
    let mut r = CdrReader::new(cdr)?;
    // A TransformStamped is at least 4+4+4+4+56 bytes.
    let count = r.read_length(72)?;
    (0..count)
        .map(|i| read_transform(&mut r).map_err(|e| e.within(&format!("transforms[{i}]"))))
        .collect()
}

fn read_transform(r: &mut CdrReader<'_>) -> Result<WireTransform, CodecError> {
    let sec = r.read_i32()?;
    let nanosec = r.read_u32()?;
    let parent = r.read_string()?;
    let child = r.read_string()?;
    let mut translation = [0.0; 3];
    for v in &mut translation {
        *v = r.read_f64()?;
    }
    let mut rotation = [0.0; 4];
    for v in &mut rotation {
        *v = r.read_f64()?;
    }
    Ok(WireTransform {
        parent,
        child,
        stamp_ns: sec as i64 * 1_000_000_000 + nanosec as i64,
        translation,
        rotation,
    })
}

/// A `tf2_msgs/msg/TFMessage` sample of `transforms`.
pub fn write_tf_message<'a>(
    transforms: impl ExactSizeIterator<Item = &'a WireTransform>,
) -> Vec<u8> {
    let mut w = CdrWriter::default();
    w.write_u32(transforms.len() as u32);
    for t in transforms {
        write_transform(&mut w, t);
    }
    w.into_bytes()
}

/// A `geometry_msgs/msg/TransformStamped` sample.
pub fn write_transform_stamped(t: &WireTransform) -> Vec<u8> {
    let mut w = CdrWriter::default();
    write_transform(&mut w, t);
    w.into_bytes()
}

fn write_transform(w: &mut CdrWriter, t: &WireTransform) {
    let sec = t.stamp_ns.div_euclid(1_000_000_000);
    let sec = sec.clamp(i32::MIN as i64, i32::MAX as i64) as i32;
    let nanosec = t.stamp_ns.rem_euclid(1_000_000_000) as u32;
    w.write_scalar(&sec.to_le_bytes());
    w.write_u32(nanosec);
    w.write_string(&t.parent);
    w.write_string(&t.child);
    for v in t.translation.iter().chain(&t.rotation) {
        w.write_scalar(&v.to_le_bytes());
    }
}

/// Every static transform given so far, one per child frame (the latest
/// wins): what a `/tf_static` publisher must send so that one latched
/// message holds the whole set.
#[derive(Debug, Default)]
pub struct StaticSet {
    by_child: BTreeMap<String, WireTransform>,
}

impl StaticSet {
    /// Adds the transforms of a TFMessage sample; the whole set, as a
    /// TFMessage sample.
    pub fn merge(&mut self, cdr: &[u8]) -> Result<Vec<u8>, CodecError> {
        for t in read_tf_message(cdr)? {
            self.by_child.insert(t.child.clone(), t);
        }
        Ok(write_tf_message(self.by_child.values()))
    }

    pub fn len(&self) -> usize {
        self.by_child.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_child.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transform(parent: &str, child: &str, x: f64) -> WireTransform {
        WireTransform {
            parent: parent.into(),
            child: child.into(),
            stamp_ns: 1_000_000_000_500,
            translation: [x, 2.0, 3.0],
            rotation: [0.0, 0.0, 0.0, 1.0],
        }
    }

    #[test]
    fn tf_messages_round_trip() {
        let ts = [
            transform("map", "odom", 1.0),
            transform("odom", "base_link", 4.0),
        ];
        let cdr = write_tf_message(ts.iter());
        assert_eq!(read_tf_message(&cdr).unwrap(), ts);
    }

    #[test]
    fn malformed_tf_messages_are_errors() {
        let cdr = write_tf_message([transform("map", "odom", 1.0)].iter());
        for len in [0, 4, 8, cdr.len() - 1] {
            assert!(read_tf_message(&cdr[..len]).is_err(), "{len} bytes");
        }
        let mut huge = cdr.clone();
        huge[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(read_tf_message(&huge).is_err());
    }

    #[test]
    fn the_static_set_keeps_the_latest_transform_of_each_child() {
        let mut set = StaticSet::default();
        set.merge(&write_tf_message([transform("base", "laser", 1.0)].iter()))
            .unwrap();
        let two = [
            transform("base", "camera", 2.0),
            transform("base", "laser", 3.0),
        ];
        let all = set.merge(&write_tf_message(two.iter())).unwrap();
        let all = read_tf_message(&all).unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[1].child, "laser");
        assert_eq!(all[1].translation[0], 3.0, "the later one wins");
        assert!(set.merge(&[0, 1, 0, 0]).is_err());
        assert_eq!(set.len(), 2, "a bad sample changes nothing");
    }
}
