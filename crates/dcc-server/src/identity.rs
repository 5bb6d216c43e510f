//! Who is connecting: the pharmacy identity parsed once per connection from the verified
//! institution certificate, and the extractor that hands it to handlers.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use dcc_pki::institution::InstitutionIdentity;

use crate::error::ApiError;

/// The identity of a connection, or why the certificate does not qualify. Chain, validity
/// and CRL were already checked by the TLS layer.
#[derive(Debug, Clone)]
pub enum ConnectionIdentity {
    /// A C.HCI.AUT certificate with an allowed profession.
    Pharmacy(PharmacyIdentity),
    /// The certificate chains to the TI CA but is not usable here.
    Rejected(IdentityRejection),
}

/// A pharmacy as identified by its institution certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PharmacyIdentity {
    /// The Telematik-ID from the Admission extension.
    pub telematik_id: String,
    /// The certificate's serial number (hex), for the audit log.
    pub certificate_serial: String,
    /// Hex SHA-256 of the certificate (DER): what operator sessions are bound to.
    pub certificate_binding: String,
}

/// Why a chain-valid certificate is still refused (HTTP 403).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityRejection {
    /// Not the C.HCI.AUT profile (client-auth EKU, policies, Admission).
    WrongProfile,
    /// The profession OID is not among the allowed ones.
    WrongProfession,
}

impl IdentityRejection {
    /// The stable error code.
    pub fn code(self) -> &'static str {
        match self {
            Self::WrongProfile => "wrong_certificate_profile",
            Self::WrongProfession => "profession_not_allowed",
        }
    }

    /// The message for the client.
    pub fn message(self) -> &'static str {
        match self {
            Self::WrongProfile => {
                "the client certificate is not an institution authentication certificate (C.HCI.AUT)"
            }
            Self::WrongProfession => {
                "the institution's profession is not allowed to issue certificates here"
            }
        }
    }
}

impl ConnectionIdentity {
    /// Parses the verified leaf certificate.
    pub fn from_certificate(leaf_der: &[u8], allowed_professions: &[String]) -> Self {
        let identity = match InstitutionIdentity::from_der(leaf_der) {
            Ok(identity) => identity,
            Err(_) => return Self::Rejected(IdentityRejection::WrongProfile),
        };
        let allowed: Vec<&str> = allowed_professions.iter().map(String::as_str).collect();
        if !identity.has_allowed_profession(&allowed) {
            return Self::Rejected(IdentityRejection::WrongProfession);
        }
        Self::Pharmacy(PharmacyIdentity {
            telematik_id: identity.telematik_id().as_str().to_owned(),
            certificate_serial: identity.serial_hex(),
            certificate_binding: dcc_auth::session::certificate_binding(leaf_der),
        })
    }

    /// The Telematik-ID, when the certificate carries a readable one.
    pub fn telematik_id(&self) -> Option<&str> {
        match self {
            Self::Pharmacy(pharmacy) => Some(&pharmacy.telematik_id),
            Self::Rejected(_) => None,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PharmacyIdentity {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<ConnectionIdentity>() {
            Some(ConnectionIdentity::Pharmacy(pharmacy)) => Ok(pharmacy.clone()),
            Some(ConnectionIdentity::Rejected(rejection)) => Err(ApiError::Identity(*rejection)),
            // Only reachable when the router runs without the TLS layer.
            None => Err(ApiError::NoClientCertificate),
        }
    }
}
