//! Cost of rendering a certificate against the cost of signing it, in one run.
//!
//! Run with `cargo bench -p dcc-render --bench render` (pin to one core with `taskset -c 0`).
//! Criterion's own figures come first; then each rendering step is timed alternately with the
//! baseline, ES256 issuance of the same certificate (JSON → signed `HC1:` string, `dcc-core`),
//! and the median ratio is printed. The `qrcode` crate encodes the same string for comparison.
//! BENCHMARKS.md records the figures.

// A benchmark is a test harness: failing loudly on a broken fixture is what it should do.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hint::black_box;
use std::time::Duration;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use criterion::Criterion;
use dcc_core::hcert::{self, cwt::IssueClaims};
use dcc_core::model::Dcc;
use dcc_core::signer::SoftwareSigner;
use dcc_render::qr::QrCode;
use dcc_render::view::CertificateView;
use dcc_render::{Format, pdf, png, render, svg};

fn main() {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let signer = SoftwareSigner::es256_from_pkcs8(pkcs8.as_ref(), b"bench-dsc").unwrap();
    let dcc = Dcc::from_json(&serde_json::json!({
        "ver": "1.3.0",
        "nam": {"fn": "Müller-Łukasiewicz", "fnt": "MUELLER<LUKASIEWICZ",
                "gn": "Jürgen Ødegård", "gnt": "JUERGEN<ODEGARD"},
        "dob": "1964-08-12",
        "v": [{"tg": "840539006", "vp": "1119349007", "mp": "EU/1/20/1528",
               "ma": "ORG-100030215", "dn": 2, "sd": 2, "dt": "2021-05-29", "co": "DE",
               "is": "Robert Koch-Institut", "ci": "URN:UVCI:01:DE:APO123/4P6D3QWHVKZ8#C"}]
    }))
    .unwrap();
    let claims = IssueClaims {
        issuer: "DE".into(),
        issued_at: 1_622_000_000,
        expires_at: 1_653_536_000,
    };
    let sign = || hcert::encode(black_box(&dcc), &claims, &signer).unwrap();
    let hc1 = sign();
    let code = QrCode::encode(&hc1).unwrap();
    let decoded = hcert::decode(&hc1).unwrap();
    let view = CertificateView::from_payload(&decoded.payload, decoded.claims.expires_at).unwrap();
    println!(
        "HC1 of {} characters -> QR version {} ({} modules), mask {}",
        hc1.len(),
        code.version(),
        code.size(),
        code.mask()
    );

    let qr_encode = || QrCode::encode(black_box(&hc1)).unwrap();
    let qrcode_crate = || {
        qrcode::QrCode::with_error_correction_level(black_box(hc1.as_bytes()), qrcode::EcLevel::Q)
            .unwrap()
    };
    let png_only = || png::render(black_box(&code));
    let svg_only = || svg::render(black_box(&code));
    let pdf_only = || pdf::render(black_box(&view), &code).unwrap();
    let png_full = || render(black_box(&hc1), Format::Png).unwrap();
    let svg_full = || render(black_box(&hc1), Format::Svg).unwrap();
    let pdf_full = || render(black_box(&hc1), Format::Pdf).unwrap();

    let mut criterion = Criterion::default()
        .configure_from_args()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    criterion.bench_function("issue_es256_json_to_hc1", |b| b.iter(sign));
    criterion.bench_function("qr_encode", |b| b.iter(qr_encode));
    criterion.bench_function("qrcode_crate_encode", |b| b.iter(qrcode_crate));
    criterion.bench_function("png_from_qr", |b| b.iter(png_only));
    criterion.bench_function("svg_from_qr", |b| b.iter(svg_only));
    criterion.bench_function("pdf_from_view_and_qr", |b| b.iter(pdf_only));
    criterion.bench_function("render_png_from_hc1", |b| b.iter(png_full));
    criterion.bench_function("render_svg_from_hc1", |b| b.iter(svg_full));
    criterion.bench_function("render_pdf_from_hc1", |b| b.iter(pdf_full));
    criterion.final_summary();

    println!("\n== interleaved against ES256 issuance of the same certificate");
    println!("   (median of {ROUNDS} alternating rounds; cost = subject time / signing time)");
    let subjects: [(&str, &dyn Fn()); 8] = [
        ("QR encode (dcc-render)", &|| drop(black_box(qr_encode()))),
        ("QR encode (qrcode 0.14)", &|| {
            drop(black_box(qrcode_crate()))
        }),
        ("PNG from QR", &|| drop(black_box(png_only()))),
        ("SVG from QR", &|| drop(black_box(svg_only()))),
        ("PDF from view + QR", &|| drop(black_box(pdf_only()))),
        ("HC1 -> PNG", &|| drop(black_box(png_full()))),
        ("HC1 -> SVG", &|| drop(black_box(svg_full()))),
        ("HC1 -> PDF", &|| drop(black_box(pdf_full()))),
    ];
    for (name, subject) in subjects {
        let (sign_us, subject_us, cost) = interleaved(&|| drop(black_box(sign())), subject);
        println!(
            "{name:<24} {subject_us:>9.1} µs   signing {sign_us:>6.1} µs   cost = {cost:>6.2} x signing"
        );
    }
}

/// Median per-call times of `baseline` and `subject` and the median of their per-round ratio
/// (subject / baseline), alternating the two in rounds so that a shared host slowing down
/// affects both alike.
#[expect(clippy::disallowed_methods, reason = "a benchmark measures wall time")]
fn interleaved(baseline: &dyn Fn(), subject: &dyn Fn()) -> (f64, f64, f64) {
    let time = |action: &dyn Fn(), calls: usize| {
        let start = std::time::Instant::now();
        for _ in 0..calls {
            action();
        }
        start.elapsed().as_secs_f64() * 1e6 / calls as f64
    };
    // Size the subject's batch so a round of it takes about as long as the baseline's.
    let calls = |action: &dyn Fn()| {
        let once = time(action, 3).max(0.01);
        ((BATCH_MICROSECONDS / once) as usize).clamp(3, 20_000)
    };
    let (baseline_calls, subject_calls) = (calls(baseline), calls(subject));
    let mut rounds = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let baseline_us = time(baseline, baseline_calls);
        let subject_us = time(subject, subject_calls);
        rounds.push((baseline_us, subject_us, subject_us / baseline_us));
    }
    let median = |pick: fn(&(f64, f64, f64)) -> f64| {
        let mut values: Vec<f64> = rounds.iter().map(pick).collect();
        values.sort_by(f64::total_cmp);
        values[ROUNDS / 2]
    };
    (median(|r| r.0), median(|r| r.1), median(|r| r.2))
}

const ROUNDS: usize = 21;
/// Target duration of one batch, in microseconds.
const BATCH_MICROSECONDS: f64 = 20_000.0;
