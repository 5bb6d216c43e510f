//! The typed audit events of the issuing system (style.md rule 20). They are written by the
//! store in the same transaction as the action they record, hash-chained and append-only, and
//! carry identifiers only: never names, dates of birth or payloads.

use dcc_store::locks::LockScope;
use serde_json::{Value, json};

use crate::operators::Actor;

/// Who made a change of the association's (the registry, the locks, an alert's
/// acknowledgement), as the audit log and the locks record it.
///
/// In an entry's detail `by` is the operator's id (a number) when an administrator did it on
/// the admin listener, and a name of what did it otherwise: `cli` for the command line on the
/// server, `anomaly_detection` for an automatic lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangedBy {
    /// The association's command line on the server (`dcc lock`, `dcc pharmacy …`).
    CommandLine,
    /// A signed-in administrator, by operator id.
    Operator(i64),
    /// Anomaly detection taking a rule's action.
    AnomalyDetection,
}

impl ChangedBy {
    /// As recorded in an audit entry's detail: the operator id, or `cli` /
    /// `anomaly_detection`.
    pub fn to_json(self) -> Value {
        match self {
            Self::CommandLine => json!(COMMAND_LINE),
            Self::Operator(id) => json!(id),
            Self::AnomalyDetection => json!(ANOMALY_DETECTION),
        }
    }

    /// As stored with a lock or an acknowledgement: `cli`, `operator:<id>` or
    /// `anomaly_detection`.
    pub fn label(self) -> String {
        match self {
            Self::CommandLine => COMMAND_LINE.to_owned(),
            Self::Operator(id) => format!("{OPERATOR_PREFIX}{id}"),
            Self::AnomalyDetection => ANOMALY_DETECTION.to_owned(),
        }
    }

    /// Reads a [`Self::label`] back; `None` for anything else (a name given on the command
    /// line, or the empty label of locks older than the record).
    pub fn from_label(label: &str) -> Option<Self> {
        match label {
            COMMAND_LINE => Some(Self::CommandLine),
            ANOMALY_DETECTION => Some(Self::AnomalyDetection),
            _ => label
                .strip_prefix(OPERATOR_PREFIX)
                .and_then(|id| id.parse().ok())
                .map(Self::Operator),
        }
    }
}

impl From<&Actor> for ChangedBy {
    fn from(actor: &Actor) -> Self {
        match actor {
            Actor::CommandLine => Self::CommandLine,
            Actor::Operator { operator, .. } => Self::Operator(operator.id),
        }
    }
}

/// `by` of the command line.
const COMMAND_LINE: &str = "cli";
/// `by` of anomaly detection.
const ANOMALY_DETECTION: &str = "anomaly_detection";
/// The prefix of an operator's label.
pub const OPERATOR_PREFIX: &str = "operator:";

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
        /// Who registered it.
        by: ChangedBy,
    },
    /// A pharmacy was suspended or reactivated.
    PharmacyStatusChanged {
        /// The pharmacy.
        telematik_id: String,
        /// `active` or `suspended`.
        status: &'static str,
        /// Who changed it.
        by: ChangedBy,
    },
    /// Issuance was locked (the kill switch).
    IssuanceLocked {
        /// What the lock covers.
        scope: LockScope,
        /// The reason code.
        reason: String,
        /// Who set it.
        by: ChangedBy,
    },
    /// A lock was lifted.
    IssuanceUnlocked {
        /// What the lock covered.
        scope: LockScope,
        /// The lifted lock's reason code.
        reason: String,
        /// Who lifted it.
        by: ChangedBy,
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
        /// Who acknowledged it: an administrator, or the command line.
        by: ChangedBy,
        /// The name given on the command line (`--by`, else the login name); `None` for an
        /// administrator, whose id says who it was.
        name: Option<String>,
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
            Self::PharmacyRegistered {
                issuer_segment, by, ..
            } => {
                json!({"issuer_segment": issuer_segment, "by": by.to_json()})
            }
            Self::PharmacyStatusChanged { status, by, .. } => {
                json!({"status": status, "by": by.to_json()})
            }
            Self::IssuanceLocked { scope, reason, by }
            | Self::IssuanceUnlocked { scope, reason, by } => match scope {
                LockScope::All => json!({"scope": "all", "reason": reason, "by": by.to_json()}),
                LockScope::Pharmacy(_) => {
                    json!({"scope": "pharmacy", "reason": reason, "by": by.to_json()})
                }
                LockScope::Operator(id) => json!({
                    "scope": "operator", "operator": id, "reason": reason, "by": by.to_json()
                }),
            },
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
                alert_id,
                rule,
                by,
                name,
                ..
            } => match name {
                Some(name) => {
                    json!({"alert_id": alert_id, "rule": rule, "by": by.to_json(), "name": name})
                }
                None => json!({"alert_id": alert_id, "rule": rule, "by": by.to_json()}),
            },
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn who_changed_something_is_recorded_and_read_back() {
        for (by, label, recorded) in [
            (ChangedBy::CommandLine, "cli", json!("cli")),
            (ChangedBy::Operator(7), "operator:7", json!(7)),
            (
                ChangedBy::AnomalyDetection,
                "anomaly_detection",
                json!("anomaly_detection"),
            ),
        ] {
            assert_eq!(by.label(), label);
            assert_eq!(by.to_json(), recorded);
            assert_eq!(ChangedBy::from_label(label), Some(by));
        }
        for other in ["", "verband", "operator:", "operator:x"] {
            assert_eq!(ChangedBy::from_label(other), None, "{other}");
        }
    }

    #[test]
    fn a_lock_entry_names_who_set_it() {
        let event = AuditEvent::IssuanceLocked {
            scope: LockScope::Operator("12".into()),
            reason: "fraud_suspected".into(),
            by: ChangedBy::Operator(3),
        };
        assert_eq!(
            event.detail(),
            json!({"scope": "operator", "operator": "12", "reason": "fraud_suspected", "by": 3})
        );
    }
}
