//! Synthetic CDR messages of any type, for benchmarks and robustness tests
//! (no ROS installation of Python needed to produce them).

use super::cdr::CdrWriter;
use super::defaults::{write_string, write_wstring_units};
use super::schema::{Element, FieldLayout, MessageLayout};
use crate::msg::{ArrayKind, Primitive};

/// Chooses how many elements each unbounded or bounded sequence gets, by
/// field name (bounds are applied afterwards).
pub type SequenceLength<'a> = &'a dyn Fn(&str) -> usize;

/// A CDR message of `layout`'s type with pseudo-random values, the same for
/// the same `seed` in either byte order.
pub fn synthesize_cdr(
    layout: &MessageLayout,
    seed: u64,
    sequence_len: SequenceLength,
    big_endian: bool,
) -> Vec<u8> {
    let mut state = Synth {
        rng: seed | 1,
        sequence_len,
    };
    let mut w = if big_endian {
        CdrWriter::big_endian()
    } else {
        CdrWriter::default()
    };
    state.message(layout, &mut w);
    w.into_bytes()
}

struct Synth<'a> {
    rng: u64,
    sequence_len: SequenceLength<'a>,
}

impl Synth<'_> {
    fn next(&mut self) -> u64 {
        // xorshift64*: fast, deterministic, good enough for test data.
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn message(&mut self, layout: &MessageLayout, w: &mut CdrWriter) {
        if layout.fields.is_empty() {
            w.write_bytes(&[0]);
        }
        for field in &layout.fields {
            self.field(field, w);
        }
    }

    fn field(&mut self, field: &FieldLayout, w: &mut CdrWriter) {
        let count = match field.array {
            ArrayKind::Single => 1,
            ArrayKind::Fixed(n) => n,
            ArrayKind::Bounded(bound) => (self.sequence_len)(&field.name).min(bound),
            ArrayKind::Unbounded => (self.sequence_len)(&field.name),
        };
        if matches!(field.array, ArrayKind::Bounded(_) | ArrayKind::Unbounded) {
            w.write_u32(count as u32);
        }
        match &field.element {
            Element::Primitive(p) if p.size() == 1 && count > 64 => {
                // Bulk data (images, point clouds): a cheap pattern.
                let start = self.next() as u8;
                let bytes: Vec<u8> = (0..count).map(|i| start.wrapping_add(i as u8)).collect();
                if *p == Primitive::Bool {
                    w.write_bytes(&bytes.iter().map(|b| b & 1).collect::<Vec<_>>());
                } else {
                    w.write_bytes(&bytes);
                }
            }
            element => {
                for _ in 0..count {
                    self.element(element, w);
                }
            }
        }
    }

    fn element(&mut self, element: &Element, w: &mut CdrWriter) {
        let r = self.next();
        match element {
            Element::Primitive(p) => {
                let bytes = r.to_le_bytes();
                match p {
                    Primitive::Bool => w.write_bytes(&[(r & 1) as u8]),
                    Primitive::Float32 => {
                        w.write_scalar(&((r % 10_000) as f32 / 7.0).to_le_bytes())
                    }
                    Primitive::Float64 => {
                        w.write_scalar(&((r % 1_000_000) as f64 / 13.0).to_le_bytes())
                    }
                    p => w.write_scalar(&bytes[..p.size()]),
                }
            }
            Element::String { bound } => {
                let text = &"frame_0123456789"[..bound.unwrap_or(16).min(1 + (r % 16) as usize)];
                write_string(text, w).expect("synthetic text is valid");
            }
            Element::WString { bound } => {
                let len = bound.unwrap_or(8).min((r % 8) as usize);
                let units: Vec<u16> = "wïde✓str".encode_utf16().take(len).collect();
                write_wstring_units(&units, w).expect("synthetic text is valid");
            }
            Element::Message(layout) => self.message(layout, w),
        }
    }
}
