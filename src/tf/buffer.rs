//! A transform buffer in the manner of tf2's `BufferCore`: a forest of
//! frames where each child frame has one parent, with either a static
//! transform (valid at every time) or a time-sorted cache of samples.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::fmt;
use std::time::Duration;

use nalgebra::{UnitQuaternion, Vector3};

/// Longest chain walked before a lookup gives up (guards against cycles).
const MAX_DEPTH: usize = 1000;
/// How far a rotation's norm may stray from 1 (tf2 uses the same tolerance).
const NORM_TOLERANCE: f64 = 1e-2;
/// Frames listed in an unknown-frame message.
const LISTED_FRAMES: usize = 10;
const NS_PER_S: u128 = 1_000_000_000;

/// A rigid transform: `p_parent = rotation * p_child + translation`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Transform {
    pub translation: Vector3<f64>,
    pub rotation: UnitQuaternion<f64>,
}

impl Transform {
    pub fn identity() -> Self {
        Self {
            translation: Vector3::zeros(),
            rotation: UnitQuaternion::identity(),
        }
    }

    /// `self * other`: apply `other` first, then `self`.
    pub fn compose(&self, other: &Transform) -> Transform {
        Transform {
            translation: self.translation + self.rotation * other.translation,
            rotation: self.rotation * other.rotation,
        }
    }

    pub fn inverse(&self) -> Transform {
        let rotation = self.rotation.inverse();
        Transform {
            translation: -(rotation * self.translation),
            rotation,
        }
    }

    /// Linear interpolation of the translation, spherical of the rotation.
    pub fn interpolate(&self, other: &Transform, ratio: f64) -> Transform {
        // `slerp` panics when the two rotations are (almost) equal;
        // `try_slerp` returns None there, and either end is then as good.
        let rotation = self
            .rotation
            .try_slerp(&other.rotation, ratio, 1e-9)
            .unwrap_or(self.rotation);
        Transform {
            translation: self.translation.lerp(&other.translation, ratio),
            rotation,
        }
    }

    fn is_finite(&self) -> bool {
        self.translation.iter().all(|v| v.is_finite())
            && self.rotation.coords.iter().all(|v| v.is_finite())
    }
}

/// The transform of `child` expressed in `parent` at `stamp_ns`.
#[derive(Debug, Clone, PartialEq)]
pub struct StampedTransform {
    pub parent: String,
    pub child: String,
    pub stamp_ns: i64,
    pub transform: Transform,
}

#[derive(Debug, Clone, Copy)]
struct Sample {
    stamp_ns: i64,
    transform: Transform,
}

#[derive(Debug, Clone)]
enum LinkData {
    Static(Transform),
    /// Never empty, sorted by stamp, one sample per stamp.
    Dynamic(VecDeque<Sample>),
}

/// The link from a child frame up to its parent.
#[derive(Debug, Clone)]
struct Link {
    parent: String,
    data: LinkData,
}

impl Link {
    fn newest_stamp(&self) -> Option<i64> {
        match &self.data {
            LinkData::Static(_) => None,
            LinkData::Dynamic(samples) => samples.back().map(|s| s.stamp_ns),
        }
    }
}

/// Why a transform was refused by [`TransformBuffer::insert`].
#[derive(Debug, Clone, PartialEq)]
pub enum InsertError {
    EmptyFrameId,
    /// The child is its own parent.
    SelfTransform(String),
    /// A NaN or infinite component in the transform of this child.
    NotFinite(String),
    /// The rotation of this child is far from a unit quaternion.
    NotNormalized {
        child: String,
        norm: f64,
    },
}

impl fmt::Display for InsertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EmptyFrameId => {
                write!(f, "transform rejected: parent or child frame id is empty")
            }
            Self::SelfTransform(c) => {
                write!(
                    f,
                    "transform rejected: frame `{c}` is given as its own parent"
                )
            }
            Self::NotFinite(c) => write!(
                f,
                "transform of `{c}` rejected: translation or rotation has a NaN or infinite value"
            ),
            Self::NotNormalized { child, norm } => write!(
                f,
                "transform of `{child}` rejected: rotation quaternion has norm {norm}, not 1"
            ),
        }
    }
}

impl std::error::Error for InsertError {}

/// Why [`TransformBuffer::lookup`] failed; codes follow tf2's `TF2Error`.
#[derive(Debug, Clone, PartialEq)]
pub enum LookupError {
    /// `known` holds the first known frames (sorted), `known_total` counts all.
    UnknownFrame {
        frame: String,
        known: Vec<String>,
        known_total: usize,
    },
    /// The two frames are in different trees.
    NotConnected {
        target: String,
        source: String,
        target_root: String,
        source_root: String,
    },
    ExtrapolationPast {
        child: String,
        parent: String,
        requested_ns: i64,
        earliest_ns: i64,
    },
    ExtrapolationFuture {
        child: String,
        parent: String,
        requested_ns: i64,
        latest_ns: i64,
    },
    InvalidArgument(String),
}

impl LookupError {
    pub fn code(&self) -> u8 {
        match self {
            Self::UnknownFrame { .. } => 1,
            Self::NotConnected { .. } => 2,
            Self::ExtrapolationPast { .. } | Self::ExtrapolationFuture { .. } => 3,
            Self::InvalidArgument(_) => 4,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Self::UnknownFrame { .. } => "lookup_error",
            Self::NotConnected { .. } => "connectivity_error",
            Self::ExtrapolationPast { .. } | Self::ExtrapolationFuture { .. } => {
                "extrapolation_error"
            }
            Self::InvalidArgument(_) => "invalid_argument_error",
        }
    }
}

/// Nanoseconds as signed seconds with 9 decimals; i128 so differences fit.
fn secs(ns: i128) -> String {
    let sign = if ns < 0 { "-" } else { "" };
    let abs = ns.unsigned_abs();
    format!("{sign}{}.{:09}", abs / NS_PER_S, abs % NS_PER_S)
}

fn fmt_unknown(
    f: &mut fmt::Formatter<'_>,
    frame: &str,
    known: &[String],
    total: usize,
) -> fmt::Result {
    if total == 0 {
        return write!(f, "unknown frame `{frame}`: no frames are known yet");
    }
    write!(
        f,
        "unknown frame `{frame}`; known frames ({total}): {}",
        known.join(", ")
    )?;
    if total > known.len() {
        write!(f, ", ... ({} more)", total - known.len())?;
    }
    Ok(())
}

impl fmt::Display for LookupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownFrame {
                frame,
                known,
                known_total,
            } => fmt_unknown(f, frame, known, *known_total),
            Self::NotConnected {
                target,
                source,
                target_root,
                source_root,
            } => write!(
                f,
                "frames `{target}` and `{source}` are not connected: `{target}` is in the tree \
                 rooted at `{target_root}`, `{source}` in the tree rooted at `{source_root}`"
            ),
            Self::ExtrapolationPast {
                child,
                parent,
                requested_ns,
                earliest_ns,
            } => write!(
                f,
                "extrapolation into the past: lookup at {} s, but the earliest data of `{child}` \
                 (parent `{parent}`) is at {} s ({} s later)",
                secs(i128::from(*requested_ns)),
                secs(i128::from(*earliest_ns)),
                secs(i128::from(*earliest_ns) - i128::from(*requested_ns)),
            ),
            Self::ExtrapolationFuture {
                child,
                parent,
                requested_ns,
                latest_ns,
            } => write!(
                f,
                "extrapolation into the future: lookup at {} s, but the latest data of `{child}` \
                 (parent `{parent}`) is at {} s ({} s earlier)",
                secs(i128::from(*requested_ns)),
                secs(i128::from(*latest_ns)),
                secs(i128::from(*requested_ns) - i128::from(*latest_ns)),
            ),
            Self::InvalidArgument(msg) => write!(f, "invalid argument: {msg}"),
        }
    }
}

impl std::error::Error for LookupError {}

/// The path between two frames: the children whose links lead from each
/// frame up to their common ancestor.
struct Path<'a> {
    source_links: &'a [&'a str],
    target_links: &'a [&'a str],
}

/// Transforms between frames, interpolated in time (tf2's `BufferCore`).
#[derive(Debug, Clone)]
pub struct TransformBuffer {
    /// Samples older than the newest of their child minus this are dropped.
    cache_ns: i64,
    links: BTreeMap<String, Link>,
    /// Every frame ever accepted, as parent or child (tf2 never forgets one).
    known: BTreeSet<String>,
}

impl TransformBuffer {
    pub fn new(cache_time: Duration) -> Self {
        Self {
            cache_ns: i64::try_from(cache_time.as_nanos()).unwrap_or(i64::MAX),
            links: BTreeMap::new(),
            known: BTreeSet::new(),
        }
    }

    /// Adds a transform. `is_static`: from /tf_static, valid at every time,
    /// replaces the previous static transform of that child.
    ///
    /// `Ok(false)`: dropped, being older than the cache keeps, or older than
    /// the newest sample of that child under another parent.
    pub fn insert(&mut self, t: StampedTransform, is_static: bool) -> Result<bool, InsertError> {
        validate(&t)?;
        let (parent, child) = (t.parent.clone(), t.child.clone());
        let accepted = if is_static {
            self.links.insert(
                t.child,
                Link {
                    parent: t.parent,
                    data: LinkData::Static(t.transform),
                },
            );
            true
        } else {
            self.insert_dynamic(t)
        };
        if accepted {
            self.known.insert(parent);
            self.known.insert(child);
        }
        Ok(accepted)
    }

    fn insert_dynamic(&mut self, t: StampedTransform) -> bool {
        let sample = Sample {
            stamp_ns: t.stamp_ns,
            transform: t.transform,
        };
        if let Some(link) = self.links.get_mut(&t.child)
            && let LinkData::Dynamic(samples) = &mut link.data
        {
            if link.parent == t.parent {
                return insert_sample(samples, sample, self.cache_ns);
            }
            // The parent comes from the latest sample; an older one
            // naming another parent is stale.
            if samples.back().is_some_and(|s| s.stamp_ns > t.stamp_ns) {
                return false;
            }
        }
        // New child, new parent, or static turned dynamic: start afresh.
        let data = LinkData::Dynamic(VecDeque::from([sample]));
        self.links.insert(
            t.child,
            Link {
                parent: t.parent,
                data,
            },
        );
        true
    }

    /// The transform taking points in `source` into `target` (tf2's
    /// `lookupTransform(target, source, time)`). `time_ns == 0` means the
    /// latest time at which every dynamic link of the chain is known.
    pub fn lookup(
        &self,
        target: &str,
        source: &str,
        time_ns: i64,
    ) -> Result<StampedTransform, LookupError> {
        self.check_frame("target", target)?;
        self.check_frame("source", source)?;
        let stamped = |transform, stamp_ns| StampedTransform {
            parent: target.to_string(),
            child: source.to_string(),
            stamp_ns,
            transform,
        };
        if target == source {
            return Ok(stamped(Transform::identity(), time_ns));
        }
        let source_chain = self.chain(source)?;
        let target_chain = self.chain(target)?;
        let path = common_path(target, source, &target_chain, &source_chain)?;
        let time = if time_ns == 0 {
            self.latest_common_time(&path)
        } else {
            time_ns
        };
        let up_from_source = self.chain_transform(path.source_links, time)?;
        let up_from_target = self.chain_transform(path.target_links, time)?;
        Ok(stamped(
            up_from_target.inverse().compose(&up_from_source),
            time,
        ))
    }

    /// Every frame known, as parent or child, sorted.
    pub fn frames(&self) -> Vec<String> {
        self.known.iter().cloned().collect()
    }

    /// The number of child frames with data.
    pub fn len(&self) -> usize {
        self.links.len()
    }

    pub fn is_empty(&self) -> bool {
        self.links.is_empty()
    }

    fn check_frame(&self, role: &str, frame: &str) -> Result<(), LookupError> {
        if frame.is_empty() {
            return Err(LookupError::InvalidArgument(format!(
                "{role} frame name is empty"
            )));
        }
        if self.known.contains(frame) {
            return Ok(());
        }
        Err(LookupError::UnknownFrame {
            frame: frame.to_string(),
            known: self.known.iter().take(LISTED_FRAMES).cloned().collect(),
            known_total: self.known.len(),
        })
    }

    /// `frame`, its parent, its grandparent, ... up to its root.
    fn chain<'a>(&'a self, frame: &'a str) -> Result<Vec<&'a str>, LookupError> {
        let mut chain = vec![frame];
        let mut current = frame;
        while let Some(link) = self.links.get(current) {
            if chain.len() > MAX_DEPTH {
                return Err(LookupError::InvalidArgument(format!(
                    "cycle (or a chain deeper than {MAX_DEPTH} links) above frame `{frame}`"
                )));
            }
            current = &link.parent;
            chain.push(current);
        }
        Ok(chain)
    }

    /// The newest stamp all dynamic links share; static links don't count.
    fn latest_common_time(&self, path: &Path<'_>) -> i64 {
        path.source_links
            .iter()
            .chain(path.target_links)
            .filter_map(|child| self.links.get(*child)?.newest_stamp())
            .min()
            .unwrap_or(0)
    }

    /// Composes the links from the first child up: child-to-top transform.
    fn chain_transform(&self, children: &[&str], time_ns: i64) -> Result<Transform, LookupError> {
        let mut acc = Transform::identity();
        for child in children {
            let link = self.links.get(*child).ok_or_else(|| {
                LookupError::InvalidArgument(format!("frame `{child}` lost its parent link"))
            })?;
            acc = link_at(child, link, time_ns)?.compose(&acc);
        }
        Ok(acc)
    }
}

fn validate(t: &StampedTransform) -> Result<(), InsertError> {
    if t.parent.is_empty() || t.child.is_empty() {
        return Err(InsertError::EmptyFrameId);
    }
    if t.parent == t.child {
        return Err(InsertError::SelfTransform(t.child.clone()));
    }
    if !t.transform.is_finite() {
        return Err(InsertError::NotFinite(t.child.clone()));
    }
    let norm = t.transform.rotation.coords.norm();
    if (norm - 1.0).abs() > NORM_TOLERANCE {
        return Err(InsertError::NotNormalized {
            child: t.child.clone(),
            norm,
        });
    }
    Ok(())
}

/// Puts `sample` in order (same stamp replaces) and prunes old samples.
/// Returns false when the sample itself is too old to keep.
fn insert_sample(samples: &mut VecDeque<Sample>, sample: Sample, cache_ns: i64) -> bool {
    let newest = samples
        .back()
        .map_or(sample.stamp_ns, |s| s.stamp_ns.max(sample.stamp_ns));
    let cutoff = newest.saturating_sub(cache_ns);
    if sample.stamp_ns < cutoff {
        return false;
    }
    match samples.binary_search_by_key(&sample.stamp_ns, |s| s.stamp_ns) {
        Ok(i) => {
            if let Some(slot) = samples.get_mut(i) {
                *slot = sample;
            }
        }
        Err(i) => samples.insert(i, sample),
    }
    let stale = samples.partition_point(|s| s.stamp_ns < cutoff);
    samples.drain(..stale);
    true
}

/// Splits two root-ward chains at their first common frame.
fn common_path<'a>(
    target: &str,
    source: &str,
    target_chain: &'a [&'a str],
    source_chain: &'a [&'a str],
) -> Result<Path<'a>, LookupError> {
    let in_target: HashMap<&str, usize> = target_chain
        .iter()
        .enumerate()
        .map(|(i, f)| (*f, i))
        .collect();
    let found = source_chain
        .iter()
        .enumerate()
        .find_map(|(i, f)| in_target.get(f).map(|j| (i, *j)));
    match found {
        Some((i, j)) => Ok(Path {
            source_links: &source_chain[..i],
            target_links: &target_chain[..j],
        }),
        None => Err(LookupError::NotConnected {
            target: target.to_string(),
            source: source.to_string(),
            target_root: target_chain.last().copied().unwrap_or(target).to_string(),
            source_root: source_chain.last().copied().unwrap_or(source).to_string(),
        }),
    }
}

/// The child-to-parent transform of one link at `time_ns`.
fn link_at(child: &str, link: &Link, time_ns: i64) -> Result<Transform, LookupError> {
    let samples = match &link.data {
        LinkData::Static(transform) => return Ok(*transform),
        LinkData::Dynamic(samples) => samples,
    };
    let (Some(first), Some(last)) = (samples.front(), samples.back()) else {
        return Err(LookupError::InvalidArgument(format!(
            "frame `{child}` has no data"
        )));
    };
    if time_ns < first.stamp_ns {
        return Err(LookupError::ExtrapolationPast {
            child: child.to_string(),
            parent: link.parent.clone(),
            requested_ns: time_ns,
            earliest_ns: first.stamp_ns,
        });
    }
    if time_ns > last.stamp_ns {
        return Err(LookupError::ExtrapolationFuture {
            child: child.to_string(),
            parent: link.parent.clone(),
            requested_ns: time_ns,
            latest_ns: last.stamp_ns,
        });
    }
    let after_idx = samples.partition_point(|s| s.stamp_ns < time_ns);
    let before = after_idx.checked_sub(1).and_then(|i| samples.get(i));
    match (before, samples.get(after_idx)) {
        (_, Some(after)) if after.stamp_ns == time_ns => Ok(after.transform),
        (Some(before), Some(after)) => Ok(interpolate_samples(before, after, time_ns)),
        _ => Err(LookupError::InvalidArgument(format!(
            "no bracketing data for `{child}`"
        ))),
    }
}

/// Interpolates between two samples; i128 so extreme stamps can't overflow.
fn interpolate_samples(before: &Sample, after: &Sample, time_ns: i64) -> Transform {
    let done = (i128::from(time_ns) - i128::from(before.stamp_ns)) as f64;
    let span = (i128::from(after.stamp_ns) - i128::from(before.stamp_ns)) as f64;
    before.transform.interpolate(&after.transform, done / span)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::FRAC_PI_2;

    const S: i64 = 1_000_000_000;

    fn tf(x: f64, y: f64, z: f64, yaw: f64) -> Transform {
        Transform {
            translation: Vector3::new(x, y, z),
            rotation: UnitQuaternion::from_euler_angles(0.0, 0.0, yaw),
        }
    }

    fn st(parent: &str, child: &str, stamp_ns: i64, transform: Transform) -> StampedTransform {
        StampedTransform {
            parent: parent.into(),
            child: child.into(),
            stamp_ns,
            transform,
        }
    }

    fn assert_tf(got: &Transform, want: &Transform) {
        let dt = (got.translation - want.translation).norm();
        let dr = got.rotation.angle_to(&want.rotation);
        assert!(dt < 1e-9 && dr < 1e-9, "got {got:?}, want {want:?}");
    }

    /// map->odom (dynamic), odom->base_link (dynamic), base_link->{laser, camera} (static).
    fn tree() -> TransformBuffer {
        let mut b = TransformBuffer::new(Duration::from_secs(10));
        let ok = |r: Result<bool, InsertError>| assert_eq!(r, Ok(true));
        ok(b.insert(st("map", "odom", S, tf(1.0, 0.0, 0.0, FRAC_PI_2)), false));
        ok(b.insert(st("odom", "base_link", S, tf(2.0, 0.0, 0.0, 0.0)), false));
        ok(b.insert(st("base_link", "laser", 0, tf(0.5, 0.0, 0.2, 0.0)), true));
        ok(b.insert(
            st("base_link", "camera", 0, tf(0.0, 0.1, 0.3, FRAC_PI_2)),
            true,
        ));
        b
    }

    #[test]
    fn chained_lookup_matches_hand_computation() {
        let b = tree();
        let r = b.lookup("map", "laser", S).unwrap();
        assert_eq!(
            (r.parent.as_str(), r.child.as_str(), r.stamp_ns),
            ("map", "laser", S)
        );
        // laser origin in odom is (2.5, 0, 0.2); yaw 90 maps it to (0, 2.5, 0.2), plus (1, 0, 0).
        assert_tf(&r.transform, &tf(1.0, 2.5, 0.2, FRAC_PI_2));
        let r = b.lookup("laser", "camera", S).unwrap();
        assert_tf(&r.transform, &tf(-0.5, 0.1, 0.1, FRAC_PI_2));
        let r = b.lookup("odom", "camera", S).unwrap();
        assert_tf(&r.transform, &tf(2.0, 0.1, 0.3, FRAC_PI_2));
    }

    #[test]
    fn inverse_direction() {
        let b = tree();
        let fwd = b.lookup("map", "laser", S).unwrap().transform;
        let back = b.lookup("laser", "map", S).unwrap();
        assert_eq!(
            (back.parent.as_str(), back.child.as_str()),
            ("laser", "map")
        );
        // The map origin seen from the laser: -R(-90) * (1, 2.5, 0.2).
        assert_tf(&back.transform, &tf(-2.5, 1.0, -0.2, -FRAC_PI_2));
        assert_tf(&fwd.compose(&back.transform), &Transform::identity());
    }

    #[test]
    fn same_frame_is_identity_only_when_known() {
        let b = tree();
        let r = b.lookup("laser", "laser", 42).unwrap();
        assert_eq!(r.stamp_ns, 42);
        assert_tf(&r.transform, &Transform::identity());
        let e = b.lookup("nowhere", "nowhere", 0).unwrap_err();
        assert!(matches!(e, LookupError::UnknownFrame { ref frame, .. } if frame == "nowhere"));
    }

    #[test]
    fn interpolates_at_midpoint() {
        let mut b = TransformBuffer::new(Duration::from_secs(10));
        b.insert(st("odom", "base", 0, tf(0.0, 0.0, 0.0, 0.0)), false)
            .unwrap();
        b.insert(
            st("odom", "base", 2 * S, tf(2.0, 4.0, 0.0, FRAC_PI_2)),
            false,
        )
        .unwrap();
        let r = b.lookup("odom", "base", S).unwrap();
        assert_tf(&r.transform, &tf(1.0, 2.0, 0.0, FRAC_PI_2 / 2.0));
        let r = b.lookup("odom", "base", S / 2).unwrap();
        assert_tf(&r.transform, &tf(0.5, 1.0, 0.0, FRAC_PI_2 / 4.0));
    }

    #[test]
    fn latest_common_time_uses_oldest_newest_stamp() {
        let mut b = tree();
        b.insert(
            st("map", "odom", 3 * S, tf(1.0, 0.0, 0.0, FRAC_PI_2)),
            false,
        )
        .unwrap();
        b.insert(
            st("odom", "base_link", 2 * S, tf(4.0, 0.0, 0.0, 0.0)),
            false,
        )
        .unwrap();
        let r = b.lookup("map", "base_link", 0).unwrap();
        assert_eq!(r.stamp_ns, 2 * S);
        // odom->base_link at 2 s is exact: (4, 0, 0); map->odom at 2 s is (1, 0, 0) yaw 90.
        assert_tf(&r.transform, &tf(1.0, 4.0, 0.0, FRAC_PI_2));
        // Static links below do not pull the time back.
        assert_eq!(b.lookup("laser", "map", 0).unwrap().stamp_ns, 2 * S);
        assert_eq!(b.lookup("map", "odom", 0).unwrap().stamp_ns, 3 * S);
    }

    #[test]
    fn static_chain_is_valid_at_any_time() {
        let b = tree();
        for t in [0, -5 * S, 1, i64::MAX, i64::MIN] {
            let r = b.lookup("laser", "camera", t).unwrap();
            assert_eq!(r.stamp_ns, t);
            assert_tf(&r.transform, &tf(-0.5, 0.1, 0.1, FRAC_PI_2));
        }
    }

    #[test]
    fn static_replaces_previous_static() {
        let mut b = tree();
        b.insert(st("base_link", "laser", 7, tf(9.0, 0.0, 0.0, 0.0)), true)
            .unwrap();
        let r = b.lookup("base_link", "laser", 123).unwrap();
        assert_tf(&r.transform, &tf(9.0, 0.0, 0.0, 0.0));
        assert_eq!(b.len(), 4);
    }

    #[test]
    fn unknown_frame_lists_known_frames() {
        let b = tree();
        let e = b.lookup("map", "lidar", S).unwrap_err();
        assert_eq!((e.code(), e.name()), (1, "lookup_error"));
        let msg = e.to_string();
        assert!(
            msg.contains("`lidar`") && msg.contains("base_link, camera, laser, map, odom"),
            "{msg}"
        );
        let mut many = TransformBuffer::new(Duration::from_secs(1));
        for i in 0..12 {
            many.insert(
                st("root", &format!("f{i:02}"), 0, Transform::identity()),
                true,
            )
            .unwrap();
        }
        let msg = many.lookup("x", "root", 0).unwrap_err().to_string();
        assert!(
            msg.contains("(13)") && msg.contains("f09, ... (3 more)"),
            "{msg}"
        );
        let empty = TransformBuffer::new(Duration::from_secs(1));
        assert!(
            empty
                .lookup("a", "b", 0)
                .unwrap_err()
                .to_string()
                .contains("no frames")
        );
    }

    #[test]
    fn not_connected_names_roots() {
        let mut b = tree();
        b.insert(st("world", "gps", 0, Transform::identity()), true)
            .unwrap();
        let e = b.lookup("laser", "gps", 0).unwrap_err();
        assert_eq!((e.code(), e.name()), (2, "connectivity_error"));
        let want = LookupError::NotConnected {
            target: "laser".into(),
            source: "gps".into(),
            target_root: "map".into(),
            source_root: "world".into(),
        };
        assert_eq!(e, want);
        let msg = e.to_string();
        assert!(
            msg.contains("rooted at `map`") && msg.contains("rooted at `world`"),
            "{msg}"
        );
    }

    #[test]
    fn extrapolation_past_message() {
        let mut b = TransformBuffer::new(Duration::from_secs(10));
        b.insert(
            st("odom", "base_link", 10_500_000_000, Transform::identity()),
            false,
        )
        .unwrap();
        let e = b.lookup("odom", "base_link", 10_250_000_000).unwrap_err();
        assert_eq!((e.code(), e.name()), (3, "extrapolation_error"));
        assert_eq!(
            e.to_string(),
            "extrapolation into the past: lookup at 10.250000000 s, but the earliest data of \
             `base_link` (parent `odom`) is at 10.500000000 s (0.250000000 s later)"
        );
    }

    #[test]
    fn extrapolation_future() {
        let b = tree();
        let e = b.lookup("map", "laser", 3 * S / 2).unwrap_err();
        assert_eq!(e.code(), 3);
        assert!(matches!(e, LookupError::ExtrapolationFuture { latest_ns, .. } if latest_ns == S));
        assert!(
            e.to_string().contains("1.500000000 s")
                && e.to_string().contains("0.500000000 s earlier")
        );
    }

    #[test]
    fn single_sample_only_at_its_stamp() {
        let b = tree();
        assert!(b.lookup("map", "odom", S).is_ok());
        assert!(matches!(
            b.lookup("map", "odom", S - 1),
            Err(LookupError::ExtrapolationPast { .. })
        ));
        assert!(matches!(
            b.lookup("map", "odom", S + 1),
            Err(LookupError::ExtrapolationFuture { .. })
        ));
        assert_eq!(b.lookup("map", "odom", 0).unwrap().stamp_ns, S);
    }

    #[test]
    fn invalid_arguments() {
        let b = tree();
        for (target, source) in [("", "map"), ("map", "")] {
            let e = b.lookup(target, source, 0).unwrap_err();
            assert_eq!((e.code(), e.name()), (4, "invalid_argument_error"));
            assert!(e.to_string().contains("empty"));
        }
    }

    #[test]
    fn cycle_is_reported_not_looped() {
        let mut b = TransformBuffer::new(Duration::from_secs(10));
        b.insert(st("a", "b", 0, Transform::identity()), true)
            .unwrap();
        b.insert(st("b", "a", 0, Transform::identity()), true)
            .unwrap();
        b.insert(st("x", "y", 0, Transform::identity()), true)
            .unwrap();
        let e = b.lookup("a", "y", 0).unwrap_err();
        assert!(
            matches!(e, LookupError::InvalidArgument(ref m) if m.contains("cycle")),
            "{e}"
        );
    }

    #[test]
    fn insert_rejects_bad_transforms() {
        let mut b = TransformBuffer::new(Duration::from_secs(10));
        let mut nan = tf(0.0, 0.0, 0.0, 0.0);
        nan.translation.x = f64::NAN;
        assert_eq!(
            b.insert(st("a", "b", 0, nan), false),
            Err(InsertError::NotFinite("b".into()))
        );
        let mut inf = tf(0.0, 0.0, 0.0, 0.0);
        inf.rotation =
            UnitQuaternion::new_unchecked(nalgebra::Quaternion::new(f64::INFINITY, 0.0, 0.0, 0.0));
        assert_eq!(
            b.insert(st("a", "b", 0, inf), true),
            Err(InsertError::NotFinite("b".into()))
        );
        let mut long = tf(0.0, 0.0, 0.0, 0.0);
        long.rotation =
            UnitQuaternion::new_unchecked(nalgebra::Quaternion::new(2.0, 0.0, 0.0, 0.0));
        assert!(matches!(
            b.insert(st("a", "b", 0, long), false),
            Err(InsertError::NotNormalized { .. })
        ));
        let e = b
            .insert(st("a", "a", 0, Transform::identity()), false)
            .unwrap_err();
        assert_eq!(e, InsertError::SelfTransform("a".into()));
        assert!(e.to_string().contains("`a`"));
        let e = b
            .insert(st("", "a", 0, Transform::identity()), false)
            .unwrap_err();
        assert_eq!(e, InsertError::EmptyFrameId);
        assert!(b.is_empty() && b.frames().is_empty());
    }

    #[test]
    fn prunes_by_cache_time() {
        let mut b = TransformBuffer::new(Duration::from_secs(10));
        for t in [0, 5 * S, 11 * S] {
            assert_eq!(
                b.insert(st("odom", "base", t, Transform::identity()), false),
                Ok(true)
            );
        }
        let e = b.lookup("odom", "base", 2 * S).unwrap_err();
        assert!(
            matches!(e, LookupError::ExtrapolationPast { earliest_ns, .. } if earliest_ns == 5 * S)
        );
        // Older than newest (11 s) - 10 s: dropped, not an error.
        assert_eq!(
            b.insert(st("odom", "base", S / 2, Transform::identity()), false),
            Ok(false)
        );
        assert_eq!(
            b.insert(st("odom", "base", S, Transform::identity()), false),
            Ok(true)
        );
        assert!(b.lookup("odom", "base", S).is_ok());
    }

    #[test]
    fn out_of_order_insert_and_same_stamp_replace() {
        let mut b = TransformBuffer::new(Duration::from_secs(10));
        for (t, x) in [(2, 2.0), (0, 0.0), (1, 1.0)] {
            b.insert(st("odom", "base", t * S, tf(x, 0.0, 0.0, 0.0)), false)
                .unwrap();
        }
        assert_tf(
            &b.lookup("odom", "base", S / 2).unwrap().transform,
            &tf(0.5, 0.0, 0.0, 0.0),
        );
        assert_tf(
            &b.lookup("odom", "base", 3 * S / 2).unwrap().transform,
            &tf(1.5, 0.0, 0.0, 0.0),
        );
        b.insert(st("odom", "base", S, tf(5.0, 0.0, 0.0, 0.0)), false)
            .unwrap();
        assert_tf(
            &b.lookup("odom", "base", S).unwrap().transform,
            &tf(5.0, 0.0, 0.0, 0.0),
        );
        assert_eq!(b.len(), 1);
    }

    #[test]
    fn reparenting_drops_old_samples() {
        let mut b = tree();
        b.insert(st("map", "base_link", 2 * S, tf(7.0, 0.0, 0.0, 0.0)), false)
            .unwrap();
        // base_link now hangs directly off map, not through odom.
        let r = b.lookup("map", "base_link", 2 * S).unwrap();
        assert_tf(&r.transform, &tf(7.0, 0.0, 0.0, 0.0));
        let e = b.lookup("map", "base_link", S).unwrap_err();
        assert!(matches!(e, LookupError::ExtrapolationPast { .. }));
        let r = b.lookup("map", "laser", 2 * S).unwrap();
        assert_tf(&r.transform, &tf(7.5, 0.0, 0.2, 0.0));
        // An older sample naming the old parent is stale now.
        assert_eq!(
            b.insert(st("odom", "base_link", S, Transform::identity()), false),
            Ok(false)
        );
        assert_eq!(b.frames(), ["base_link", "camera", "laser", "map", "odom"]);
        assert_eq!(b.len(), 4);
    }

    #[test]
    fn extreme_stamps_do_not_overflow() {
        let mut b = TransformBuffer::new(Duration::MAX);
        b.insert(st("a", "b", i64::MIN, tf(0.0, 0.0, 0.0, 0.0)), false)
            .unwrap();
        b.insert(st("a", "b", -1, tf(2.0, 0.0, 0.0, 0.0)), false)
            .unwrap();
        let r = b.lookup("a", "b", i64::MIN / 2).unwrap();
        assert_tf(&r.transform, &tf(1.0, 0.0, 0.0, 0.0));
        let mut one = TransformBuffer::new(Duration::ZERO);
        one.insert(st("a", "b", i64::MAX, Transform::identity()), false)
            .unwrap();
        let msg = one.lookup("a", "b", i64::MIN).unwrap_err().to_string();
        assert!(msg.contains("at -9223372036.854775808 s"), "{msg}");
    }

    #[test]
    fn interpolate_handles_equal_and_opposite_rotations() {
        let a = tf(0.0, 0.0, 0.0, 0.3);
        let same = a.interpolate(&a, 0.5);
        assert_tf(&same, &a);
        // q and -q are the same rotation: still no panic, same result.
        let neg = Transform {
            rotation: UnitQuaternion::new_unchecked(-a.rotation.into_inner()),
            ..a
        };
        assert!(a.interpolate(&neg, 0.5).rotation.angle_to(&a.rotation) < 1e-9);
        let half =
            tf(0.0, 0.0, 0.0, 0.0).interpolate(&tf(0.0, 0.0, 0.0, std::f64::consts::PI), 0.5);
        assert!(half.is_finite());
    }

    #[test]
    fn compose_and_inverse() {
        let a = tf(1.0, 2.0, 3.0, FRAC_PI_2);
        let b = tf(1.0, 0.0, 0.0, 0.0);
        assert_tf(&a.compose(&b), &tf(1.0, 3.0, 3.0, FRAC_PI_2));
        assert_tf(&a.compose(&a.inverse()), &Transform::identity());
        assert_tf(&a.inverse().compose(&a), &Transform::identity());
    }
}
