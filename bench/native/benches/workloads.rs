//! `cargo bench -p lite-alloc-bench-native`: each workload under the system
//! allocator and three lite-alloc configurations, timed by criterion.
//! `cargo bench -p lite-alloc-bench-native -- --test` runs each once (CI).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use lite_alloc_bench_native::{Under, measure};
use lite_alloc_bench_workloads as workloads;
use std::time::Duration;

fn workloads(c: &mut Criterion) {
    for workload in &workloads::ALL {
        // Every allocator computes the same result.
        let checksums: Vec<u64> = Under::ALL
            .iter()
            .map(|&under| measure(under, workload.run).1)
            .collect();
        assert!(
            checksums.windows(2).all(|w| w[0] == w[1]),
            "{}: checksums differ: {checksums:?}",
            workload.name
        );
        let mut group = c.benchmark_group(workload.name);
        group
            .sample_size(10)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(2))
            .throughput(Throughput::Elements(workload.ops));
        for under in Under::ALL {
            group.bench_function(under.name(), |b| {
                b.iter_custom(|iters| (0..iters).map(|_| measure(under, workload.run).0).sum())
            });
        }
        group.finish();
    }
}

criterion_group!(benches, workloads);
criterion_main!(benches);
