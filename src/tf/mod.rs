//! Transforms: the buffer the bridge keeps from `/tf` and `/tf_static`
//! and answers dora nodes' lookups from (pure: no ROS, no dora), and its
//! conversions from and to the wire form (`codec::tf`).

pub mod buffer;

use crate::codec::tf::WireTransform;
use buffer::{StampedTransform, Transform};
use nalgebra::{Quaternion, UnitQuaternion, Vector3};

/// How far a rotation's norm may be from 1 and still be normalised here
/// (the buffer refuses the others, saying so).
const NORMALISE_WITHIN: f64 = 1e-2;

pub fn from_wire(t: WireTransform) -> StampedTransform {
    let [x, y, z, w] = t.rotation;
    let q = Quaternion::new(w, x, y, z);
    let rotation = match (q.norm() - 1.0).abs() <= NORMALISE_WITHIN {
        true => UnitQuaternion::from_quaternion(q),
        false => UnitQuaternion::new_unchecked(q),
    };
    StampedTransform {
        parent: t.parent,
        child: t.child,
        stamp_ns: t.stamp_ns,
        transform: Transform {
            translation: Vector3::from(t.translation),
            rotation,
        },
    }
}

pub fn to_wire(t: &StampedTransform) -> WireTransform {
    let q = t.transform.rotation.quaternion();
    WireTransform {
        parent: t.parent.clone(),
        child: t.child.clone(),
        stamp_ns: t.stamp_ns,
        translation: t.transform.translation.into(),
        rotation: [q.i, q.j, q.k, q.w],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_transforms_convert_both_ways_and_slightly_off_rotations_are_normalised() {
        let wire = WireTransform {
            parent: "map".into(),
            child: "odom".into(),
            stamp_ns: 5,
            translation: [1.0, 2.0, 3.0],
            rotation: [0.0, 0.0, 0.705, 0.705],
        };
        let stamped = from_wire(wire.clone());
        assert!((stamped.transform.rotation.coords.norm() - 1.0).abs() < 1e-12);
        let back = to_wire(&stamped);
        assert_eq!(back.translation, wire.translation);
        assert!(
            (back.rotation[2] - std::f64::consts::FRAC_1_SQRT_2).abs() < 1e-9,
            "normalised"
        );
        let off = from_wire(WireTransform {
            rotation: [0.0, 0.0, 0.0, 2.0],
            ..wire
        });
        assert_eq!(
            off.transform.rotation.coords.norm(),
            2.0,
            "left for the buffer to refuse"
        );
    }
}
