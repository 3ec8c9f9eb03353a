//! Codec throughput and latency against the physical floor: a plain memcpy
//! of the same bytes, measured in the same run.
//!
//!   source .workbench/env.sh && cargo bench --bench codec
//!   python3 scripts/bench_report.py   # table with ratios, for docs/performance.md
//!
//! Messages are synthetic CDR of the real types from the ROS installation.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ros2_dora_bridge::codec::{CodecOptions, MessageCodec, synthesize_cdr};
use ros2_dora_bridge::msg::{TypeName, TypeRegistry};
use std::hint::black_box;
use std::time::Duration;

struct Case {
    label: &'static str,
    type_name: &'static str,
    sequence_len: fn(&str) -> usize,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            label: "twist",
            type_name: "geometry_msgs/msg/Twist",
            sequence_len: |_| 0,
        },
        Case {
            label: "joint_state_32",
            type_name: "sensor_msgs/msg/JointState",
            sequence_len: |_| 32,
        },
        Case {
            label: "odometry",
            type_name: "nav_msgs/msg/Odometry",
            sequence_len: |_| 0,
        },
        Case {
            label: "image_1080p_rgb8",
            type_name: "sensor_msgs/msg/Image",
            sequence_len: |f| if f == "data" { 1920 * 1080 * 3 } else { 0 },
        },
        Case {
            label: "image_4k_rgb8",
            type_name: "sensor_msgs/msg/Image",
            sequence_len: |f| if f == "data" { 3840 * 2160 * 3 } else { 0 },
        },
        Case {
            label: "pointcloud2_16mb",
            type_name: "sensor_msgs/msg/PointCloud2",
            // 16 B per point (x, y, z, intensity as float32), 1 M points.
            sequence_len: |f| match f {
                "data" => 16 * 1024 * 1024,
                "fields" => 4,
                _ => 0,
            },
        },
    ]
}

fn codec(c: &mut Criterion) {
    let registry = TypeRegistry::from_environment();
    for case in cases() {
        let name = TypeName::parse(case.type_name).unwrap();
        let codec = MessageCodec::new(&registry, &name, CodecOptions::default())
            .unwrap_or_else(|e| panic!("{e} (source .workbench/env.sh first)"));
        let cdr = synthesize_cdr(codec.layout(), 7, &case.sequence_len, false);
        let decoded = codec.decode(&cdr).unwrap();

        let mut group = c.benchmark_group(case.label);
        group.throughput(Throughput::Bytes(cdr.len() as u64));
        if cdr.len() > 1 << 20 {
            group
                .sample_size(20)
                .measurement_time(Duration::from_secs(5));
        }
        group.bench_function(BenchmarkId::new("memcpy", cdr.len()), |b| {
            b.iter(|| black_box(black_box(&cdr).to_vec()))
        });
        group.bench_function(BenchmarkId::new("decode", cdr.len()), |b| {
            b.iter(|| black_box(codec.decode(black_box(&cdr)).unwrap()))
        });
        // CDR the bridge owns (a taken buffer of 64 KiB or more): byte
        // arrays become slices of it.
        let owned = arrow::buffer::Buffer::from_vec(cdr.clone());
        group.bench_function(BenchmarkId::new("decode_sharing", cdr.len()), |b| {
            b.iter(|| black_box(codec.decode_sharing(black_box(&owned)).unwrap()))
        });
        // Encoding into a fresh buffer each time, as a first publish would.
        group.bench_function(BenchmarkId::new("encode", cdr.len()), |b| {
            b.iter(|| {
                black_box(
                    codec
                        .encode_row(black_box(&decoded), 0, Vec::new())
                        .unwrap(),
                )
            })
        });
        // Steady state, as the bridge publishes: one buffer reused per route.
        let mut buffer = Vec::new();
        group.bench_function(BenchmarkId::new("encode_reuse", cdr.len()), |b| {
            b.iter(|| {
                let out = codec
                    .encode_row(black_box(&decoded), 0, std::mem::take(&mut buffer))
                    .unwrap();
                buffer = black_box(out);
            })
        });
        group.finish();
    }
}

criterion_group!(benches, codec);
criterion_main!(benches);
