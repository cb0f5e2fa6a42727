//! Issue 2: time per policy decision, keyless-policy against cedar-policy in the same run.
//!
//! Each criterion iteration is **one decision**: the benches cycle through the 22-request mix
//! ([`keyless_bench_cedar::CASES`]), so the reported time is already per decision (averaged over
//! the mix). Setup (parsing policies; for Cedar also building the `Entities`, `Context`s and
//! `Request`s) is outside the measurement; for Cedar only `Authorizer::is_authorized` is timed.
//! Before measuring, both engines are run over the whole mix and must agree on every request.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use keyless_bench_cedar::{check_agreement, compare, Cedar, Keyless, CASES};

fn setup() -> Result<(Keyless, Cedar), String> {
    let k = Keyless::new()?;
    let c = Cedar::new()?;
    check_agreement(&compare(&k, &c)?)?;
    Ok((k, c))
}

fn decide(cr: &mut Criterion) {
    let (k, c) = match setup() {
        Ok(v) => v,
        Err(e) => {
            eprintln!("scenario check failed, not measuring:\n{e}");
            std::process::exit(1);
        }
    };
    eprintln!(
        "both engines agree on all {} requests ({} statements)",
        CASES.len(),
        k.statement_count()
    );
    let n = CASES.len();

    let mut g = cr.benchmark_group("keyless");
    let mut i = 0usize;
    g.bench_function("decision", |b| {
        b.iter(|| {
            i = (i + 1) % n;
            k.decide(black_box(i))
        })
    });
    g.finish();

    let mut g = cr.benchmark_group("cedar");
    let mut i = 0usize;
    g.bench_function("decision", |b| {
        b.iter(|| {
            i = (i + 1) % n;
            c.authorizer
                .is_authorized(black_box(&c.requests[i]), &c.policies, &c.entities)
        })
    });
    g.finish();
}

criterion_group!(benches, decide);
criterion_main!(benches);
