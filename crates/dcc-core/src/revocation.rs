//! Revocation hashes (dcc-spec.md §6): SHA-256 truncated to 16 bytes, base64 on the wire.

use aws_lc_rs::digest::SHA256;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::algorithm::Algorithm;

/// The three hash types of the EU revocation lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashType {
    /// `UCI`: the `ci` string as in the payload.
    Uci,
    /// `COUNTRYCODEUCI`: a country code followed by the `ci`.
    CountryCodeUci,
    /// `SIGNATURE`: the first half of an ES256 signature (`r`), or a whole PS256 signature.
    Signature,
}

impl HashType {
    /// The name used in the gateway's `hashType` field.
    pub fn name(self) -> &'static str {
        match self {
            Self::Uci => "UCI",
            Self::CountryCodeUci => "COUNTRYCODEUCI",
            Self::Signature => "SIGNATURE",
        }
    }
}

/// A 16-byte revocation hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RevocationHash([u8; 16]);

impl RevocationHash {
    /// A hash from its 16 bytes (as read from a list).
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// A hash from its base64 form (24 characters); `None` when it is not 16 bytes.
    pub fn from_base64(text: &str) -> Option<Self> {
        let bytes: [u8; 16] = STANDARD.decode(text).ok()?.try_into().ok()?;
        Some(Self(bytes))
    }

    /// The raw 16 bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// Base64 as on the wire (24 characters ending in `==`).
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }
}

impl std::fmt::Display for RevocationHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_base64())
    }
}

/// `UCI` hash of a `ci` exactly as written (prefix and check character included).
pub fn uci_hash(certificate_id: &str) -> RevocationHash {
    truncated_sha256(&[certificate_id.as_bytes()])
}

/// `COUNTRYCODEUCI` hash: the country code, then the `ci`. Which country is ambiguous in
/// the wild (§6); callers pass the CWT `iss`, as the German app does.
pub fn country_code_uci_hash(country: &str, certificate_id: &str) -> RevocationHash {
    truncated_sha256(&[country.as_bytes(), certificate_id.as_bytes()])
}

/// `SIGNATURE` hash of a COSE signature: ES256 hashes only `r`, the first half.
pub fn signature_hash(algorithm: Algorithm, signature: &[u8]) -> RevocationHash {
    let signed = match algorithm {
        Algorithm::Es256 => signature.get(..signature.len() / 2).unwrap_or(signature),
        Algorithm::Ps256 => signature,
    };
    truncated_sha256(&[signed])
}

fn truncated_sha256(parts: &[&[u8]]) -> RevocationHash {
    let mut context = aws_lc_rs::digest::Context::new(&SHA256);
    for part in parts {
        context.update(part);
    }
    let full = context.finish();
    let mut out = [0; 16];
    out.iter_mut().zip(full.as_ref()).for_each(|(o, d)| *o = *d);
    RevocationHash(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    // hcert-dotnet's revocation vectors, as cited in dcc-spec.md §6.
    #[test]
    fn uci_vector() {
        assert_eq!(
            uci_hash("01ES21VE8D20E9F2D50000000759#D").to_base64(),
            "P4nd4fPW4wjQOqv8VWdxBw=="
        );
    }

    #[test]
    fn country_code_uci_concatenates() {
        assert_eq!(
            country_code_uci_hash("DE", "URN:UVCI:X"),
            uci_hash("DEURN:UVCI:X")
        );
    }

    #[test]
    fn es256_hashes_only_r() {
        let signature: Vec<u8> = (0..64).collect();
        assert_eq!(
            signature_hash(Algorithm::Es256, &signature),
            uci_hash_of(&signature[..32])
        );
        assert_eq!(
            signature_hash(Algorithm::Ps256, &signature),
            uci_hash_of(&signature)
        );
    }

    fn uci_hash_of(bytes: &[u8]) -> RevocationHash {
        truncated_sha256(&[bytes])
    }
}
