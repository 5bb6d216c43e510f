//! `dcc-qr`: QR codes for HC1 strings.
//!
//! For now this crate reads a QR code from a PNG or JPEG image (`dcc verify photo.png`, and
//! the conformance suite's picture check). It sits beside `dcc-core` rather than inside it so
//! that embedding the verifier does not pull in image decoders.

mod read;

pub use read::{QrReadError, read_image};
