//! Properties of the codec over every installed type of the packages the
//! bridge is tested with, without Python: big-endian input decodes like
//! little-endian; corrupted, truncated and forged input gives errors, never a
//! panic or a huge allocation (proptest: a failure shrinks to the smallest
//! damage); bad Arrow input gives errors naming the field.

mod common;
use arrow::array::{Array, ArrayRef, Int64Array, StringArray, StructArray, UInt32Array};
use arrow::datatypes::{DataType, Field};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{
    Config as ProptestConfig, RngAlgorithm, TestCaseError, TestRng, TestRunner,
};
use ros2_dora_bridge::codec::{CodecOptions, MessageCodec, synthesize_cdr};
use ros2_dora_bridge::msg::{TypeName, TypeRegistry};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Records the largest single allocation, to catch forged lengths that
/// would make the decoder reserve gigabytes.
struct Watermark;
static LARGEST: AtomicUsize = AtomicUsize::new(0);
unsafe impl GlobalAlloc for Watermark {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}
#[global_allocator]
static ALLOCATOR: Watermark = Watermark;

const PACKAGES: &[&str] = &[
    "std_msgs",
    "builtin_interfaces",
    "geometry_msgs",
    "sensor_msgs",
    "nav_msgs",
    "diagnostic_msgs",
    "test_msgs",
];

fn installed_types(registry: &TypeRegistry) -> Vec<TypeName> {
    let mut types = Vec::new();
    for package in PACKAGES {
        let dir = registry
            .prefixes()
            .iter()
            .map(|p| p.join("share").join(package).join("msg"))
            .find(|d| d.is_dir())
            .unwrap_or_else(|| panic!("{package} not installed: source .workbench/env.sh"));
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "msg") {
                let name = path.file_stem().unwrap().to_str().unwrap();
                types.push(TypeName::msg(package, name));
            }
        }
    }
    types.sort();
    assert!(types.len() > 100, "found only {} types", types.len());
    types
}

fn codecs() -> Vec<MessageCodec> {
    common::require_workbench();
    let registry = TypeRegistry::from_environment();
    installed_types(&registry)
        .iter()
        .map(|t| {
            MessageCodec::new(&registry, t, CodecOptions::default())
                .unwrap_or_else(|e| panic!("{t}: {e}"))
        })
        .collect()
}

#[test]
fn big_endian_decodes_like_little_endian() {
    for codec in codecs() {
        for (seed, len) in [(1u64, 0usize), (2, 3), (3, 17)] {
            let lengths = move |_: &str| len;
            let le = synthesize_cdr(codec.layout(), seed, &lengths, false);
            let be = synthesize_cdr(codec.layout(), seed, &lengths, true);
            let from_le = codec
                .decode(&le)
                .unwrap_or_else(|e| panic!("{}: {e}", codec.type_name()));
            let from_be = codec
                .decode(&be)
                .unwrap_or_else(|e| panic!("{} (BE): {e}", codec.type_name()));
            assert_eq!(from_le, from_be, "{}", codec.type_name());
            // And our little-endian encoding of it is the synthetic LE input.
            let encoded = codec.encode_row(&from_be, 0, Vec::new()).unwrap();
            let mut expected = le.clone();
            expected.resize(expected.len().max(8), 0);
            assert_eq!(encoded, expected, "{}", codec.type_name());
        }
    }
}

/// One way of damaging a valid message. Positions are fractions of the
/// message (`Index`), so that proptest shrinks them towards the start.
#[derive(Debug, Clone)]
enum Damage {
    /// Cut anywhere, including inside the header.
    Truncate(Index),
    /// Flip a few bits.
    FlipBits(Vec<(Index, u8)>),
    /// A huge length at an aligned position (where CDR lengths live).
    ForgeLength(Index, u32),
    /// Garbage after a valid header.
    Garbage(Vec<u8>),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        any::<Index>().prop_map(Damage::Truncate),
        prop::collection::vec((any::<Index>(), 0u8..8), 1..5).prop_map(Damage::FlipBits),
        (
            any::<Index>(),
            prop::sample::select(vec![0xffff_fff0u32, 0x7fff_ffff, 0x0100_0000])
        )
            .prop_map(|(at, len)| Damage::ForgeLength(at, len)),
        prop::collection::vec(any::<u8>(), 0..256).prop_map(Damage::Garbage),
    ]
}

fn apply(damage: &Damage, valid: &[u8]) -> Vec<u8> {
    let mut bytes = valid.to_vec();
    match damage {
        Damage::Truncate(at) => bytes.truncate(at.index(valid.len().max(1))),
        Damage::FlipBits(flips) => {
            for (at, bit) in flips {
                bytes[at.index(valid.len())] ^= 1 << bit;
            }
        }
        Damage::ForgeLength(at, len) => {
            let positions = valid.len().saturating_sub(8) / 4;
            let at = 4 + 4 * at.index(positions.max(1));
            if at + 4 <= bytes.len() {
                bytes[at..at + 4].copy_from_slice(&len.to_le_bytes());
            }
        }
        Damage::Garbage(tail) => {
            bytes.truncate(4);
            bytes.extend_from_slice(tail);
        }
    }
    bytes
}

#[test]
fn corrupted_truncated_and_forged_input_is_an_error_not_a_panic() {
    let codecs = codecs();
    let valid: Vec<Vec<u8>> = codecs
        .iter()
        .map(|c| synthesize_cdr(c.layout(), 9, &|_| 4, false))
        .collect();
    let errors = AtomicUsize::new(0);
    let cases = AtomicUsize::new(0);
    let config = ProptestConfig {
        cases: 20_000,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    let strategy = (0..codecs.len(), damage());
    let outcome = runner.run(&strategy, |(which, damage)| {
        let (codec, valid) = (&codecs[which], &valid[which]);
        let bytes = apply(&damage, valid);
        LARGEST.store(0, Ordering::Relaxed);
        let result = std::panic::catch_unwind(|| codec.decode(&bytes).is_err());
        let largest = LARGEST.load(Ordering::Relaxed);
        let Ok(rejected) = result else {
            return Err(TestCaseError::fail(format!(
                "{}: decode panicked",
                codec.type_name()
            )));
        };
        prop_assert!(
            largest < 64 * valid.len() + (1 << 20),
            "{}: an allocation of {largest} bytes for a {}-byte input",
            codec.type_name(),
            bytes.len()
        );
        cases.fetch_add(1, Ordering::Relaxed);
        errors.fetch_add(usize::from(rejected), Ordering::Relaxed);
        Ok(())
    });
    if let Err(e) = outcome {
        panic!("{e}");
    }
    let (errors, cases) = (errors.into_inner(), cases.into_inner());
    assert!(
        errors > cases / 4,
        "only {errors} of {cases} corrupted inputs were rejected"
    );
}

fn codec(name: &str) -> MessageCodec {
    common::require_workbench();
    MessageCodec::new(
        &TypeRegistry::from_environment(),
        &TypeName::parse(name).unwrap(),
        CodecOptions::default(),
    )
    .unwrap()
}

fn replace_column(
    message: &StructArray,
    name: &str,
    column: Option<ArrayRef>,
    data_type: Option<DataType>,
) -> StructArray {
    let mut fields = Vec::new();
    let mut columns = Vec::new();
    for (field, col) in message.fields().iter().zip(message.columns()) {
        if field.name() == name {
            if let (Some(c), Some(t)) = (&column, &data_type) {
                fields.push(Arc::new(Field::new(name, t.clone(), true)));
                columns.push(c.clone());
            }
        } else {
            fields.push(field.clone());
            columns.push(col.clone());
        }
    }
    StructArray::try_new(fields.into(), columns, None).unwrap()
}

fn good_height(message: &StructArray) -> u32 {
    use arrow::array::AsArray;
    message
        .column_by_name("height")
        .unwrap()
        .as_primitive::<arrow::datatypes::UInt32Type>()
        .value(0)
}

#[test]
fn bad_arrow_input_is_an_error_naming_field_expected_and_actual() {
    let image = codec("sensor_msgs/msg/Image");
    let cdr = synthesize_cdr(image.layout(), 3, &|_| 12, false);
    let good = image.decode(&cdr).unwrap();
    assert!(image.encode_row(&good, 0, Vec::new()).is_ok());

    // A wider integer (a Python int) that the field holds is taken, and
    // encodes as the field's own type would.
    let widened = replace_column(
        &good,
        "height",
        Some(Arc::new(Int64Array::from(vec![good_height(&good) as i64]))),
        Some(DataType::Int64),
    );
    assert_eq!(
        image.encode_row(&widened, 0, Vec::new()).unwrap(),
        image.encode_row(&good, 0, Vec::new()).unwrap()
    );
    // One it cannot hold, or a float for an integer, is not.
    let negative = replace_column(
        &good,
        "height",
        Some(Arc::new(Int64Array::from(vec![-1]))),
        Some(DataType::Int64),
    );
    let err = image
        .encode_row(&negative, 0, Vec::new())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`height`") && err.contains("UInt32") && err.contains("cannot hold"),
        "{err}"
    );
    let float = replace_column(
        &good,
        "height",
        Some(Arc::new(arrow::array::Float64Array::from(vec![480.0]))),
        Some(DataType::Float64),
    );
    let err = image
        .encode_row(&float, 0, Vec::new())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`height`") && err.contains("UInt32") && err.contains("Float64"),
        "{err}"
    );
    // Every field that does not fit is named at once.
    let three_bad = replace_column(
        &replace_column(
            &replace_column(
                &good,
                "height",
                Some(Arc::new(arrow::array::Float64Array::from(vec![480.0]))),
                Some(DataType::Float64),
            ),
            "encoding",
            Some(Arc::new(Int64Array::from(vec![7]))),
            Some(DataType::Int64),
        ),
        "step",
        Some(Arc::new(StringArray::from(vec!["wide"]))),
        Some(DataType::Utf8),
    );
    let err = image
        .encode_row(&three_bad, 0, Vec::new())
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("3 fields do not fit"), "{err}");
    for field in ["`height`", "`encoding`", "`step`"] {
        assert!(err.contains(field), "{field}: {err}");
    }

    // Null value.
    let null = replace_column(
        &good,
        "width",
        Some(Arc::new(UInt32Array::from(vec![None]))),
        Some(DataType::UInt32),
    );
    let err = image
        .encode_row(&null, 0, Vec::new())
        .unwrap_err()
        .to_string();
    assert!(err.contains("`width`") && err.contains("null"), "{err}");

    // Unknown field.
    let mut fields: Vec<_> = good.fields().iter().cloned().collect();
    let mut columns = good.columns().to_vec();
    fields.push(Arc::new(Field::new("colour", DataType::Utf8, false)));
    columns.push(Arc::new(StringArray::from(vec!["red"])));
    let extra = StructArray::try_new(fields.into(), columns, None).unwrap();
    let err = image
        .encode_row(&extra, 0, Vec::new())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("colour") && err.contains("sensor_msgs/msg/Image"),
        "{err}"
    );

    // Missing fields take defaults: an empty header, encoding "", ...
    let partial = replace_column(&good, "header", None, None);
    let partial = replace_column(&partial, "encoding", None, None);
    let bytes = image.encode_row(&partial, 0, Vec::new()).unwrap();
    let back = image.decode(&bytes).unwrap();
    assert_eq!(
        back.column_by_name("height").unwrap(),
        good.column_by_name("height").unwrap()
    );

    // Nested path and fixed length: Odometry's covariance must have 36.
    let odom = codec("nav_msgs/msg/Odometry");
    let good = odom
        .decode(&synthesize_cdr(odom.layout(), 5, &|_| 0, false))
        .unwrap();
    let pose = good
        .column_by_name("pose")
        .unwrap()
        .as_any()
        .downcast_ref::<StructArray>()
        .unwrap()
        .clone();
    let short =
        arrow::array::ListArray::from_iter_primitive::<arrow::datatypes::Float64Type, _, _>(vec![
            Some(vec![Some(0.0); 35]),
        ]);
    let short_type = short.data_type().clone();
    let pose = replace_column(&pose, "covariance", Some(Arc::new(short)), Some(short_type));
    let bad = replace_column(
        &good,
        "pose",
        Some(Arc::new(pose.clone())),
        Some(pose.data_type().clone()),
    );
    let err = odom
        .encode_row(&bad, 0, Vec::new())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("pose.covariance") && err.contains("36") && err.contains("35"),
        "{err}"
    );

    // Not a struct at all.
    let err = odom
        .encode_all(&Int64Array::from(vec![1]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("StructArray") && err.contains("Int64"),
        "{err}"
    );
}

#[test]
fn encoder_accepts_the_variants_users_naturally_produce() {
    use arrow::array::{BinaryArray, LargeListArray, LargeStringArray, ListArray};
    use arrow::buffer::OffsetBuffer;
    // Image.data as Binary, encoding as LargeUtf8: same bytes as the
    // canonical List<UInt8> / Utf8.
    let image = codec("sensor_msgs/msg/Image");
    let canonical = image
        .decode(&synthesize_cdr(image.layout(), 11, &|_| 300, false))
        .unwrap();
    let expected = image.encode_row(&canonical, 0, Vec::new()).unwrap();
    let data = canonical
        .column_by_name("data")
        .unwrap()
        .as_any()
        .downcast_ref::<ListArray>()
        .unwrap();
    let bytes = data.value(0);
    let bytes = bytes
        .as_any()
        .downcast_ref::<arrow::array::UInt8Array>()
        .unwrap()
        .values()
        .to_vec();
    let binary = BinaryArray::from_vec(vec![bytes.as_slice()]);
    let variant = replace_column(
        &canonical,
        "data",
        Some(Arc::new(binary)),
        Some(DataType::Binary),
    );
    let encoding = canonical
        .column_by_name("encoding")
        .unwrap()
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap();
    let large = LargeStringArray::from(vec![encoding.value(0)]);
    let variant = replace_column(
        &variant,
        "encoding",
        Some(Arc::new(large)),
        Some(DataType::LargeUtf8),
    );
    assert_eq!(image.encode_row(&variant, 0, Vec::new()).unwrap(), expected);

    // A fixed array (Odometry's covariance, float64[36]) as List or LargeList.
    let odom = codec("nav_msgs/msg/Odometry");
    let canonical = odom
        .decode(&synthesize_cdr(odom.layout(), 12, &|_| 0, false))
        .unwrap();
    let expected = odom.encode_row(&canonical, 0, Vec::new()).unwrap();
    let pose = canonical
        .column_by_name("pose")
        .unwrap()
        .as_any()
        .downcast_ref::<StructArray>()
        .unwrap();
    let covariance = pose
        .column_by_name("covariance")
        .unwrap()
        .as_any()
        .downcast_ref::<arrow::array::FixedSizeListArray>()
        .unwrap();
    let values = covariance.values().clone();
    let item = Arc::new(Field::new("item", DataType::Float64, true));
    let as_list = ListArray::new(
        item.clone(),
        OffsetBuffer::from_lengths([36]),
        values.clone(),
        None,
    );
    let as_large = LargeListArray::new(item, OffsetBuffer::from_lengths([36]), values, None);
    for list in [
        Arc::new(as_list) as ArrayRef,
        Arc::new(as_large) as ArrayRef,
    ] {
        let t = list.data_type().clone();
        let new_pose = replace_column(pose, "covariance", Some(list), Some(t));
        let variant = replace_column(
            &canonical,
            "pose",
            Some(Arc::new(new_pose.clone())),
            Some(new_pose.data_type().clone()),
        );
        assert_eq!(odom.encode_row(&variant, 0, Vec::new()).unwrap(), expected);
    }

    // Several rows: one message per row, in order.
    let twist = codec("geometry_msgs/msg/Twist");
    let one = twist
        .decode(&synthesize_cdr(twist.layout(), 13, &|_| 0, false))
        .unwrap();
    let two = twist
        .decode(&synthesize_cdr(twist.layout(), 14, &|_| 0, false))
        .unwrap();
    let both = arrow::compute::concat(&[&one, &two]).unwrap();
    let encoded = twist.encode_all(both.as_ref()).unwrap();
    assert_eq!(
        encoded,
        vec![
            twist.encode_row(&one, 0, Vec::new()).unwrap(),
            twist.encode_row(&two, 0, Vec::new()).unwrap(),
        ]
    );
}
