//! `dcc-pki`: X.509 for the DCC issuance emulation.
//!
//! Brief overview of the main types:
//!
//! * [`institution::InstitutionIdentity`]: checks the C.HCI.AUT profile of a pharmacy's SMC-B
//!   client certificate (already chain-validated by the TLS layer) and reads its
//!   [`telematik_id::TelematikId`] and profession from the [`admission`] extension.
//! * [`dev_pki::DevPki`]: a complete development PKI generated with a caller-supplied time — the
//!   TI root and SMC-B CA with institution certificates and a CRL, the internal service CA with
//!   TLS server and client certificates, and the DCC CSCA with one DSC per certificate type —
//!   written to and loaded from a fixed file layout ([`layout`]).
//! * [`file_signer::FileSigner`]: a DSC and its PKCS#8 key loaded from files as a
//!   [`dcc_core::signer::Signer`].
//!
//! **Deviation from the TI:** every key is ECDSA P-256. The real TI also uses brainpoolP256r1 and
//! brainpoolP384r1, which rustls does not support.
//!
//! **Invariant:** library code never reads the clock; every validity period starts from a
//! `now: OffsetDateTime` parameter. Randomness (keys, ECDSA nonces) is drawn inside aws-lc.

pub mod admission;
pub mod ca;
pub mod certificate;
pub mod crl;
pub mod dcc_signing;
pub mod dev_pki;
pub mod file_signer;
pub mod fuzzing;
pub mod institution;
pub mod institution_request;
pub mod layout;
pub mod pem;
pub mod private_key;
pub mod serial;
pub mod service;
pub mod telematik_id;
