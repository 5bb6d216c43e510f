//! The typed audit events of the issuing system (style.md rule 20). They are written by the
//! store in the same transaction as the action they record, hash-chained and append-only, and
//! carry identifiers only: never names, dates of birth or payloads.

use dcc_store::locks::LockScope;
use serde_json::{Value, json};

/// Something that happened and must be traceable.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuditEvent {
    /// A certificate was issued and recorded.
    CertificateIssued {
        /// The pharmacy.
        telematik_id: String,
        /// The new certificate's UVCI.
        uvci: String,
        /// `v`, `t` or `r`.
        certificate_type: &'static str,
        /// The kid of the signing DSC (base64).
        kid: String,
        /// The operator who issued it.
        operator_id: Option<i64>,
    },
    /// An idempotent retry returned an earlier certificate.
    CertificateReturnedAgain {
        /// The pharmacy.
        telematik_id: String,
        /// The earlier certificate's UVCI.
        uvci: String,
    },
    /// An issuance request was refused.
    IssuanceRejected {
        /// The pharmacy, when known.
        telematik_id: Option<String>,
        /// The stable error code of the refusal.
        code: &'static str,
    },
    /// A connection or request was refused because of the client's identity.
    AccessRejected {
        /// The Telematik-ID from the certificate, when it could be read.
        telematik_id: Option<String>,
        /// The stable code (`unknown_ca`, `wrong_profession`, `suspended`, …).
        code: &'static str,
    },
    /// A pharmacy was added to the registry.
    PharmacyRegistered {
        /// The pharmacy.
        telematik_id: String,
        /// Its UVCI issuer segment.
        issuer_segment: String,
    },
    /// A pharmacy was suspended or reactivated.
    PharmacyStatusChanged {
        /// The pharmacy.
        telematik_id: String,
        /// `active` or `suspended`.
        status: &'static str,
    },
    /// Issuance was locked (the kill switch).
    IssuanceLocked {
        /// What the lock covers.
        scope: LockScope,
        /// The reason code.
        reason: String,
    },
    /// A lock was lifted.
    IssuanceUnlocked {
        /// What the lock covered.
        scope: LockScope,
        /// The lifted lock's reason code.
        reason: String,
    },
    /// A certificate was revoked.
    CertificateRevoked {
        /// The certificate.
        uvci: String,
        /// `fraud`, `error` or `duplicate`.
        reason: &'static str,
    },
    /// A billing month was closed into statements.
    BillingMonthClosed {
        /// `YYYY-MM`.
        month: String,
        /// Statements of the month.
        statements: i64,
        /// Their total in cents.
        total_cents: i64,
    },
    /// Anomaly detection raised an alert (and took its rule's action).
    AnomalyAlertRaised {
        /// The alert's number.
        alert_id: i64,
        /// The rule's code.
        rule: &'static str,
        /// The pharmacy.
        telematik_id: String,
        /// The operator, once operators are recorded.
        operator: Option<String>,
        /// The action taken: `warn`, `throttle`, `lock_operator` or `lock_pharmacy`.
        action: &'static str,
    },
    /// Anomaly detection lowered a pharmacy's rate limits for a while.
    PharmacyThrottled {
        /// The pharmacy.
        telematik_id: String,
        /// The alert that caused it.
        alert_id: i64,
        /// Until when, unix seconds.
        until: i64,
        /// Certificates per burst window meanwhile.
        pharmacy_burst: u64,
        /// Certificates per rolling day meanwhile.
        pharmacy_per_day: u64,
    },
    /// The association acknowledged an alert (its comment stays with the alert).
    AnomalyAlertAcknowledged {
        /// The alert's number.
        alert_id: i64,
        /// The rule's code.
        rule: String,
        /// The pharmacy.
        telematik_id: String,
        /// Who acknowledged it.
        by: String,
    },
    /// Something happened to an operator account or session.
    OperatorAccount {
        /// The pharmacy's Telematik-ID, or `*` for the association.
        scope: String,
        /// The account, when one matched.
        operator_id: Option<i64>,
        /// What happened.
        action: OperatorAction,
        /// The operator who did it, when someone else than the account itself (an owner or
        /// administrator managing accounts).
        by: Option<i64>,
    },
    /// A pharmacy fetched its statement.
    StatementFetched {
        /// The pharmacy.
        telematik_id: String,
        /// `YYYY-MM`.
        month: String,
        /// `pdf`, `csv` or `json`.
        format: &'static str,
    },
}

impl AuditEvent {
    /// The event's kind, as stored.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::CertificateIssued { .. } => "certificate_issued",
            Self::CertificateReturnedAgain { .. } => "certificate_returned_again",
            Self::IssuanceRejected { .. } => "issuance_rejected",
            Self::AccessRejected { .. } => "access_rejected",
            Self::PharmacyRegistered { .. } => "pharmacy_registered",
            Self::PharmacyStatusChanged { .. } => "pharmacy_status_changed",
            Self::IssuanceLocked { .. } => "issuance_locked",
            Self::IssuanceUnlocked { .. } => "issuance_unlocked",
            Self::CertificateRevoked { .. } => "certificate_revoked",
            Self::BillingMonthClosed { .. } => "billing_month_closed",
            Self::StatementFetched { .. } => "statement_fetched",
            Self::AnomalyAlertRaised { .. } => "anomaly_alert_raised",
            Self::PharmacyThrottled { .. } => "pharmacy_throttled",
            Self::AnomalyAlertAcknowledged { .. } => "anomaly_alert_acknowledged",
            Self::OperatorAccount { action, .. } => action.kind(),
        }
    }

    /// The pharmacy the event concerns.
    pub fn telematik_id(&self) -> Option<&str> {
        match self {
            Self::CertificateIssued { telematik_id, .. }
            | Self::CertificateReturnedAgain { telematik_id, .. }
            | Self::PharmacyRegistered { telematik_id, .. }
            | Self::PharmacyStatusChanged { telematik_id, .. }
            | Self::StatementFetched { telematik_id, .. }
            | Self::AnomalyAlertRaised { telematik_id, .. }
            | Self::PharmacyThrottled { telematik_id, .. }
            | Self::AnomalyAlertAcknowledged { telematik_id, .. } => Some(telematik_id),
            Self::BillingMonthClosed { .. } | Self::CertificateRevoked { .. } => None,
            Self::OperatorAccount { scope, .. } => {
                (scope != dcc_store::operators::ASSOCIATION_SCOPE).then_some(scope.as_str())
            }
            Self::IssuanceRejected { telematik_id, .. }
            | Self::AccessRejected { telematik_id, .. } => telematik_id.as_deref(),
            Self::IssuanceLocked { scope, .. } | Self::IssuanceUnlocked { scope, .. } => {
                match scope {
                    LockScope::Pharmacy(telematik_id) => Some(telematik_id),
                    _ => None,
                }
            }
        }
    }

    /// The certificate the event concerns.
    pub fn uvci(&self) -> Option<&str> {
        match self {
            Self::CertificateIssued { uvci, .. }
            | Self::CertificateReturnedAgain { uvci, .. }
            | Self::CertificateRevoked { uvci, .. } => Some(uvci),
            _ => None,
        }
    }

    /// The event's details (identifiers and codes only).
    pub fn detail(&self) -> Value {
        match self {
            Self::CertificateIssued {
                certificate_type,
                kid,
                operator_id,
                ..
            } => {
                json!({"certificate_type": certificate_type, "kid": kid, "operator": operator_id})
            }
            Self::CertificateReturnedAgain { .. } => json!({}),
            Self::IssuanceRejected { code, .. } | Self::AccessRejected { code, .. } => {
                json!({"code": code})
            }
            Self::PharmacyRegistered { issuer_segment, .. } => {
                json!({"issuer_segment": issuer_segment})
            }
            Self::PharmacyStatusChanged { status, .. } => json!({"status": status}),
            Self::IssuanceLocked { scope, reason } | Self::IssuanceUnlocked { scope, reason } => {
                match scope {
                    LockScope::All => json!({"scope": "all", "reason": reason}),
                    LockScope::Pharmacy(_) => json!({"scope": "pharmacy", "reason": reason}),
                    LockScope::Operator(id) => {
                        json!({"scope": "operator", "operator": id, "reason": reason})
                    }
                }
            }
            Self::CertificateRevoked { reason, .. } => json!({"reason": reason}),
            Self::BillingMonthClosed {
                month,
                statements,
                total_cents,
            } => json!({"month": month, "statements": statements, "total_cents": total_cents}),
            Self::StatementFetched { month, format, .. } => {
                json!({"month": month, "format": format})
            }
            Self::AnomalyAlertRaised {
                alert_id,
                rule,
                operator,
                action,
                ..
            } => {
                json!({"alert_id": alert_id, "rule": rule, "action": action, "operator": operator})
            }
            Self::PharmacyThrottled {
                alert_id,
                until,
                pharmacy_burst,
                pharmacy_per_day,
                ..
            } => json!({
                "alert_id": alert_id,
                "until": until,
                "pharmacy_burst": pharmacy_burst,
                "pharmacy_per_day": pharmacy_per_day,
            }),
            Self::AnomalyAlertAcknowledged {
                alert_id, rule, by, ..
            } => json!({"alert_id": alert_id, "rule": rule, "by": by}),
            Self::OperatorAccount {
                operator_id,
                action,
                by,
                ..
            } => {
                let mut detail = serde_json::Map::new();
                detail.insert("operator".to_owned(), json!(operator_id));
                if let Some(by) = by {
                    detail.insert("by".to_owned(), json!(by));
                }
                match action {
                    OperatorAction::SignInFailed { code } => {
                        detail.insert("code".to_owned(), json!(code));
                    }
                    OperatorAction::Created { role } => {
                        detail.insert("role".to_owned(), json!(role));
                    }
                    OperatorAction::SignedIn { kind } => {
                        detail.insert("session".to_owned(), json!(kind));
                    }
                    _ => {}
                }
                Value::Object(detail)
            }
        }
    }
}

/// What happened to an operator account (audit kinds `operator_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperatorAction {
    /// The account was created, with this role.
    Created {
        /// The role's name.
        role: &'static str,
    },
    /// Password and second factor were right; a session of this kind began.
    SignedIn {
        /// `browser` or `api`.
        kind: &'static str,
    },
    /// A login was refused (the typed username and password are never recorded).
    SignInFailed {
        /// The refusal's code.
        code: &'static str,
    },
    /// Too many failures locked the account for a while.
    LockedOut,
    /// The second factor was enrolled.
    TotpEnrolled,
    /// The session was ended by its operator.
    SignedOut,
    /// The account was disabled.
    Disabled,
    /// A new password was set; the second factor must be enrolled again.
    Reset,
}

impl OperatorAction {
    /// The audit kind.
    pub fn kind(self) -> &'static str {
        match self {
            Self::Created { .. } => "operator_created",
            Self::SignedIn { .. } => "operator_signed_in",
            Self::SignInFailed { .. } => "operator_sign_in_failed",
            Self::LockedOut => "operator_locked_out",
            Self::TotpEnrolled => "operator_totp_enrolled",
            Self::SignedOut => "operator_signed_out",
            Self::Disabled => "operator_disabled",
            Self::Reset => "operator_reset",
        }
    }
}

/// Appends an event to the audit chain inside the caller's transaction.
pub async fn record(
    tx: &mut dcc_store::Tx<'_>,
    event: &AuditEvent,
    at: i64,
) -> Result<dcc_store::audit::AuditEntry, dcc_store::StoreError> {
    dcc_store::audit::append(tx, &audit_record(event, at)).await
}

/// The store's record of an event at `at` (unix seconds).
pub fn audit_record(event: &AuditEvent, at: i64) -> dcc_store::audit::AuditRecord<'_> {
    dcc_store::audit::AuditRecord {
        at,
        kind: event.kind(),
        telematik_id: event.telematik_id(),
        uvci: event.uvci(),
        detail: event.detail(),
    }
}
