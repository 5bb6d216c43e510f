//! Throughput of the HCERT pipeline against the raw crypto it is built on, in one run.
//!
//! Run with `cargo bench -p dcc-core --bench pipeline` (pin to one core with
//! `taskset -c 0`). After criterion's own output, the ratios against the raw ECDSA P-256
//! operations of the same library are printed; BENCHMARKS.md records them.

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
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair,
    ParsedPublicKey, UnparsedPublicKey,
};
use criterion::Criterion;
use dcc_core::hcert::{self, compress, cwt::IssueClaims};
use dcc_core::model::Dcc;
use dcc_core::signer::SoftwareSigner;
use dcc_core::trust_list::TrustList;
use dcc_core::validation::{self, Mode};
use dcc_core::verify;
use rcgen::{CertificateParams, KeyPair as RcgenKeyPair};

struct Fixture {
    signer: SoftwareSigner,
    trust: TrustList,
    raw_key: EcdsaKeyPair,
    json: serde_json::Value,
    claims: IssueClaims,
}

fn fixture() -> Fixture {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let rcgen_key = RcgenKeyPair::from_pkcs8_der_and_sign_algo(
        &pkcs8.as_ref().into(),
        &rcgen::PKCS_ECDSA_P256_SHA256,
    )
    .unwrap();
    let mut params = CertificateParams::default();
    params.not_before = rcgen::date_time_ymd(2021, 1, 1);
    params.not_after = rcgen::date_time_ymd(2031, 1, 1);
    let der = params.self_signed(&rcgen_key).unwrap().der().to_vec();
    Fixture {
        signer: SoftwareSigner::es256_from_pkcs8(pkcs8.as_ref(), &der).unwrap(),
        trust: TrustList::from_certificates(&der).unwrap(),
        raw_key: EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())
            .unwrap(),
        json: serde_json::json!({
            "ver": "1.3.0",
            "nam": {"fn": "Müller", "fnt": "MUELLER", "gn": "Jürgen", "gnt": "JUERGEN"},
            "dob": "1964-08-12",
            "v": [{
                "tg": "840539006", "vp": "1119349007", "mp": "EU/1/20/1528",
                "ma": "ORG-100030215", "dn": 2, "sd": 2, "dt": "2021-05-29", "co": "DE",
                "is": "Robert Koch-Institut", "ci": "URN:UVCI:01:DE:APO123/4P6D3QWHVKZ8#C"
            }]
        }),
        claims: IssueClaims {
            issuer: "DE".into(),
            issued_at: CLOCK,
            expires_at: CLOCK + 365 * 86_400,
        },
    }
}

fn issue(fixture: &Fixture) -> String {
    let violations = validation::validate(&fixture.json, Mode::Issue);
    assert!(violations.is_empty());
    let dcc = Dcc::from_json(&fixture.json).unwrap();
    hcert::encode(&dcc, &fixture.claims, &fixture.signer).unwrap()
}

fn main() {
    let fixture = fixture();
    let mut criterion = Criterion::default()
        .configure_from_args()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    let rng = SystemRandom::new();
    let message = vec![0x5A; 300];
    let signature = fixture.raw_key.sign(&rng, &message).unwrap();
    let public_key = UnparsedPublicKey::new(
        &ECDSA_P256_SHA256_FIXED,
        fixture.raw_key.public_key().as_ref().to_vec(),
    );
    let parsed_key = ParsedPublicKey::new(
        &ECDSA_P256_SHA256_FIXED,
        fixture.raw_key.public_key().as_ref(),
    )
    .unwrap();
    let hc1 = issue(&fixture);
    assert!(
        verify::verify(&hc1, &fixture.trust, CLOCK + 1)
            .unwrap()
            .is_valid()
    );
    let cose = hcert::decode(&hc1).unwrap().cose_bytes;

    criterion.bench_function("raw_ecdsa_p256_sign", |b| {
        b.iter(|| fixture.raw_key.sign(&rng, black_box(&message)).unwrap())
    });
    criterion.bench_function("raw_ecdsa_p256_verify", |b| {
        b.iter(|| {
            public_key
                .verify(black_box(&message), signature.as_ref())
                .unwrap()
        })
    });
    criterion.bench_function("raw_ecdsa_p256_verify_parsed_key", |b| {
        b.iter(|| {
            parsed_key
                .verify_sig(black_box(&message), signature.as_ref())
                .unwrap()
        })
    });
    criterion.bench_function("issue_json_to_hc1_es256", |b| {
        b.iter(|| issue(black_box(&fixture)))
    });
    criterion.bench_function("verify_hc1", |b| {
        b.iter(|| {
            let verification = verify::verify(black_box(&hc1), &fixture.trust, CLOCK + 1).unwrap();
            assert!(verification.is_valid());
        })
    });
    criterion.bench_function("decode_hc1_layers", |b| {
        b.iter(|| hcert::decode(black_box(&hc1)).unwrap())
    });
    let payload = hcert::decode(&hc1).unwrap().payload;
    criterion.bench_function("validate_payload", |b| {
        b.iter(|| validation::validate(black_box(&payload), Mode::Verify))
    });
    criterion.bench_function("zlib_deflate_cose", |b| {
        b.iter(|| compress::deflate(black_box(&cose)))
    });
    criterion.final_summary();

    print_ratios();

    // Criterion measures one function after the other, so a shared host that slows down in
    // between skews the ratios. These alternate baseline and subject in small batches and
    // report the median ratio, which is what BENCHMARKS.md quotes.
    let issue_ratio = interleaved_ratio(
        || {
            black_box(fixture.raw_key.sign(&rng, black_box(&message)).unwrap());
        },
        || {
            black_box(issue(&fixture));
        },
    );
    let verify_ratio = interleaved_ratio(
        || {
            parsed_key
                .verify_sig(black_box(&message), signature.as_ref())
                .unwrap()
        },
        || {
            let verification = verify::verify(black_box(&hc1), &fixture.trust, CLOCK + 1).unwrap();
            assert!(verification.is_valid());
        },
    );
    println!("\n== interleaved (median of {ROUNDS} alternating rounds of {BATCH} calls)");
    println!("issue  JSON -> HC1    = {issue_ratio:.2} x raw ECDSA sign   (target >= 0.50)");
    println!("verify HC1 -> payload = {verify_ratio:.2} x raw ECDSA verify (target >= 0.85)");
}

/// Throughput of `subject` relative to `baseline`: the median over alternating rounds of
/// (baseline time / subject time) for the same number of calls.
#[expect(clippy::disallowed_methods, reason = "a benchmark measures wall time")]
fn interleaved_ratio(mut baseline: impl FnMut(), mut subject: impl FnMut()) -> f64 {
    let mut ratios = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let start = std::time::Instant::now();
        for _ in 0..BATCH {
            baseline();
        }
        let baseline_time = start.elapsed().as_secs_f64();
        let start = std::time::Instant::now();
        for _ in 0..BATCH {
            subject();
        }
        ratios.push(baseline_time / start.elapsed().as_secs_f64());
    }
    ratios.sort_by(f64::total_cmp);
    ratios[ROUNDS / 2]
}

const ROUNDS: usize = 41;
const BATCH: usize = 300;

/// Reads criterion's estimates of this run and prints throughput ratios.
fn print_ratios() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/criterion");
    let mean_ns = |name: &str| -> Option<f64> {
        let path = root.join(name).join("new/estimates.json");
        let text = std::fs::read_to_string(path).ok()?;
        let value: serde_json::Value = serde_json::from_str(&text).ok()?;
        value.get("mean")?.get("point_estimate")?.as_f64()
    };
    let (Some(sign), Some(unparsed_verify), Some(raw_verify), Some(issue), Some(verify)) = (
        mean_ns("raw_ecdsa_p256_sign"),
        mean_ns("raw_ecdsa_p256_verify"),
        mean_ns("raw_ecdsa_p256_verify_parsed_key"),
        mean_ns("issue_json_to_hc1_es256"),
        mean_ns("verify_hc1"),
    ) else {
        println!(
            "ratios: criterion estimates not found under {}",
            root.display()
        );
        return;
    };
    let per_second = |ns: f64| 1e9 / ns;
    println!("\n== throughput (one thread), ratios against the raw operation of the same run");
    println!("raw ECDSA P-256 sign    {:>10.0} /s", per_second(sign));
    println!(
        "raw ECDSA P-256 verify  {:>10.0} /s (key parsed per call)",
        per_second(unparsed_verify)
    );
    println!(
        "raw ECDSA P-256 verify  {:>10.0} /s (pre-parsed key: the baseline below)",
        per_second(raw_verify)
    );
    println!(
        "issue  JSON -> HC1      {:>10.0} /s   = {:.2} x raw sign   (target >= 0.50)",
        per_second(issue),
        sign / issue
    );
    println!(
        "verify HC1 -> payload   {:>10.0} /s   = {:.2} x raw verify (target >= 0.85)",
        per_second(verify),
        raw_verify / verify
    );
}

const CLOCK: i64 = 1_622_505_600;
