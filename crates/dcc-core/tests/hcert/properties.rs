//! Property tests: arbitrary payloads survive issue → decode unchanged, and so do the Base45
//! and zlib layers on arbitrary bytes.

use dcc_core::hcert::{self, base45, compress};
use dcc_core::model::date_of_birth::DateOfBirth;
use dcc_core::model::name::PersonName;
use dcc_core::model::recovery::Recovery;
use dcc_core::model::test::Test;
use dcc_core::model::vaccination::Vaccination;
use dcc_core::model::{Dcc, Entry};
use proptest::prelude::*;

use super::support::{Usage, claims, es256_issuer};

fn text() -> impl Strategy<Value = String> {
    // Arbitrary Unicode, as names in the wild are.
    proptest::string::string_regex(".{0,40}").unwrap()
}

fn date_of_birth() -> impl Strategy<Value = DateOfBirth> {
    prop_oneof![
        Just(DateOfBirth::Unknown),
        (1900u16..2100).prop_map(DateOfBirth::Year),
        (1900u16..2100, 0u8..13).prop_map(|(y, m)| DateOfBirth::YearMonth(y, m)),
        (1900u16..2100, 1u8..13, 1u8..29).prop_map(|(y, m, d)| DateOfBirth::Date(y, m, d)),
    ]
}

fn entry() -> impl Strategy<Value = Entry> {
    prop_oneof![
        (text(), text(), 1u32..10, 1u32..10).prop_map(|(product, issuer, dn, sd)| {
            Entry::Vaccination(Vaccination {
                target_disease: "840539006".into(),
                vaccine: "1119349007".into(),
                product,
                manufacturer: "ORG-100030215".into(),
                dose_number: dn,
                total_doses: sd,
                date: "2021-05-29".into(),
                country: "DE".into(),
                issuer,
                certificate_id: "URN:UVCI:01:DE:X/1#A".into(),
            })
        }),
        (
            text(),
            proptest::option::of(text()),
            proptest::option::of(text())
        )
            .prop_map(|(issuer, name, centre)| {
                Entry::Test(Test {
                    target_disease: "840539006".into(),
                    test_type: "LP6464-4".into(),
                    test_name: name,
                    device: None,
                    sample_collected: "2021-05-30T10:12:22Z".into(),
                    result: "260415000".into(),
                    centre,
                    country: "DE".into(),
                    issuer,
                    certificate_id: "URN:UVCI:01:DE:X/2#B".into(),
                })
            }),
        text().prop_map(|issuer| {
            Entry::Recovery(Recovery {
                target_disease: "840539006".into(),
                first_positive: "2021-05-01".into(),
                country: "DE".into(),
                issuer,
                valid_from: "2021-05-29".into(),
                valid_until: "2021-10-28".into(),
                certificate_id: "URN:UVCI:01:DE:X/3#C".into(),
            })
        }),
    ]
}

fn dcc() -> impl Strategy<Value = Dcc> {
    (
        proptest::option::of(text()),
        proptest::option::of(text()),
        date_of_birth(),
        entry(),
    )
        .prop_map(|(family, given, date_of_birth, entry)| Dcc {
            version: "1.3.0".into(),
            name: PersonName::from_written(family.as_deref(), given.as_deref()),
            date_of_birth,
            entry,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn issue_decode_round_trip(dcc in dcc()) {
        let issuer = es256_issuer(Usage::Any);
        let text = hcert::encode(&dcc, &claims(), &issuer.signer).unwrap();
        let decoded = hcert::decode(&text).unwrap();
        prop_assert_eq!(&decoded.payload, &dcc.to_json());
        prop_assert_eq!(Dcc::from_json(&decoded.payload).unwrap(), dcc);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn base45_round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let text = base45::encode(&bytes);
        prop_assert!(text.bytes().all(|b| b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:".contains(&b)));
        prop_assert_eq!(base45::decode(&text).unwrap(), bytes);
    }

    #[test]
    fn zlib_round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let compressed = compress::deflate(&bytes).unwrap();
        prop_assert_eq!(compress::inflate_zlib(&compressed).unwrap(), bytes);
    }

    #[test]
    fn base45_decoding_is_canonical(text in "[0-9A-Z $%*+./:a-z-]{0,64}") {
        // Whatever decodes re-encodes to the same text; the rest is a typed error.
        if let Ok(bytes) = base45::decode(&text) {
            prop_assert_eq!(base45::encode(&bytes), text);
        } else {
            prop_assert!(text.len() % 3 == 1 || text.chars().any(|c| c.is_ascii_lowercase())
                || base45::decode(&text).is_err());
        }
    }
}

/// The German sample certificate, a real-world HC1 string.
const SAMPLE_HC1: &str = include_str!("../../../../samples/de-vaccination.hc1");

fn sample_cose() -> Vec<u8> {
    hcert::decode(SAMPLE_HC1.trim()).unwrap().cose_bytes
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    // The decoder under the oracle of the cargo-fuzz target `hc1_decode`: never a panic, and a
    // decoded payload survives JSON → CBOR → JSON.
    #[test]
    fn hc1_decoder_takes_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..800)) {
        dcc_core::fuzzing::hc1_decode(&bytes);
        let mut prefixed = b"HC1:".to_vec();
        prefixed.extend_from_slice(&bytes);
        dcc_core::fuzzing::hc1_decode(&prefixed);
    }

    #[test]
    fn hc1_decoder_takes_arbitrary_base45(text in "HC1:[0-9A-Z $%*+./:-]{0,600}") {
        dcc_core::fuzzing::hc1_decode(text.as_bytes());
    }

    // Byte flips and truncations below the transport layers: the mutated COSE is compressed
    // and Base45-encoded again, so that it reaches the COSE, CWT and CBOR parsers.
    #[test]
    fn hc1_decoder_takes_mutated_cose(
        flips in proptest::collection::vec((any::<proptest::sample::Index>(), 1u8..=255), 0..6),
        cut in any::<proptest::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let mut cose = sample_cose();
        let len = cose.len();
        for (at, mask) in flips {
            cose[at.index(len)] ^= mask;
        }
        if truncate {
            cose.truncate(cut.index(len));
        }
        let text = hcert::encode_cose(&cose).unwrap();
        dcc_core::fuzzing::hc1_decode(text.as_bytes());
        // Raw COSE without zlib takes the decoder's uncompressed path.
        let raw = format!("HC1:{}", base45::encode(&cose));
        dcc_core::fuzzing::hc1_decode(raw.as_bytes());
    }
}

#[test]
fn the_sample_passes_the_hc1_oracle() {
    let decoded = hcert::decode(SAMPLE_HC1.trim()).unwrap();
    assert_eq!(decoded.payload["v"][0]["co"], "DE");
    dcc_core::fuzzing::hc1_decode(SAMPLE_HC1.trim().as_bytes());
}
