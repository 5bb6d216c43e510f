//! Every text of the administrators' pages in German and English, in one table (the staff
//! pages' [`crate::ui::i18n`] has its own; both share [`Lang`] and the table macro).
//!
//! Error and notice codes, rule, action, severity, scope and status codes map to messages
//! through [`AdminMsg::for_code`]; a test checks that every code the pages can show has one.

use crate::ui::i18n::{Lang, messages};

messages! {
    /// A text of the administrators' pages; see the table in this module for both languages.
    AdminMsg;
    // Layout
    AppTitle => "Verbandsverwaltung", "Association administration";
    SwitchLanguage => "English", "Deutsch";
    Logout => "Abmelden", "Sign out";
    SignedInAs => "Angemeldet als", "Signed in as";
    NavAlerts => "Warnungen", "Alerts";
    NavLocks => "Sperren", "Locks";
    NavPharmacies => "Apotheken", "Pharmacies";
    // Sign-in
    LoginTitle => "Anmeldung für Administratoren", "Administrator sign-in";
    LoginIntro => "Nur Konten des Verbands können sich hier anmelden, mit Passwort und zweitem Faktor.",
        "Only the association's accounts can sign in here, with password and second factor.";
    Username => "Benutzername", "Username";
    Password => "Passwort", "Password";
    TotpCode => "Code aus der Authenticator-App", "Code from the authenticator app";
    TotpHint => "6 Ziffern; beim ersten Anmelden leer lassen", "6 digits; leave empty on your first sign-in";
    LoginSubmit => "Anmelden", "Sign in";
    EnrolTitle => "Zweiten Faktor einrichten", "Set up the second factor";
    EnrolIntro => "Scannen Sie den QR-Code mit Ihrer Authenticator-App und geben Sie den ersten angezeigten Code ein.",
        "Scan the QR code with your authenticator app and enter the first code it shows.";
    EnrolSecret => "Schlüssel zur manuellen Eingabe", "Key for manual entry";
    EnrolFirstCode => "Erster Code", "First code";
    EnrolSubmit => "Einrichten und anmelden", "Set up and sign in";
    // Alerts
    AlertsTitle => "Warnungen der Anomalieerkennung", "Anomaly detection alerts";
    AlertsOpen => "Offene Warnungen", "Open alerts";
    AlertsAcknowledged => "Bestätigte Warnungen", "Acknowledged alerts";
    ShowAcknowledged => "Bestätigte anzeigen", "Show acknowledged";
    ShowOpen => "Offene anzeigen", "Show open";
    AlertsNoneOpen => "Keine offenen Warnungen.", "No open alerts.";
    AlertsNoneAcknowledged => "Keine bestätigten Warnungen.", "No acknowledged alerts.";
    ColRule => "Regel", "Rule";
    ColSeverity => "Schwere", "Severity";
    ColPharmacy => "Apotheke", "Pharmacy";
    ColOperator => "Mitarbeitende Person", "Operator";
    ColWindow => "Zeitraum", "Window";
    ColFirstSeen => "Zuerst gesehen", "First seen";
    ColLastSeen => "Zuletzt gesehen", "Last seen";
    ColCount => "Anzahl", "Count";
    ColEvidence => "Belege", "Evidence";
    ColAction => "Ergriffene Maßnahme", "Action taken";
    ColAcknowledged => "Bestätigt", "Acknowledged";
    Comment => "Kommentar", "Comment";
    CommentHint => "Was wurde festgestellt? Keine personenbezogenen Daten.", "What was found? No personal data.";
    Acknowledge => "Bestätigen", "Acknowledge";
    AcknowledgedBy => "von", "by";
    AckKeepsLock => "Eine Sperre bleibt bestehen, bis sie unter „Sperren“ aufgehoben wird.",
        "A lock stays until it is lifted under “Locks”.";
    Unknown => "unbekannt", "unknown";
    // Locks
    LocksTitle => "Ausgabesperren", "Issuance locks";
    LocksNone => "Keine Sperren: Die Ausgabe ist offen.", "No locks: issuance is open.";
    ColScope => "Umfang", "Scope";
    ColTarget => "Ziel", "Target";
    ColReason => "Grund", "Reason";
    ColSince => "Seit", "Since";
    ColBy => "Von", "By";
    ColActions => "Aktionen", "Actions";
    Lift => "Aufheben", "Lift";
    NewLock => "Neue Sperre", "New lock";
    LockTarget => "Telematik-ID oder Konto-Nummer", "Telematik-ID or account number";
    LockTargetHint => "Leer lassen, wenn alle gesperrt werden.", "Leave empty when locking everyone.";
    LockReason => "Grund (Code)", "Reason (code)";
    LockReasonHint => "Kleinbuchstaben, Ziffern und _, z. B. fraud_suspected", "Lowercase letters, digits and _, e.g. fraud_suspected";
    LockSubmit => "Sperren", "Lock";
    ByCommandLine => "Kommandozeile", "command line";
    ByAnomalyDetection => "Anomalieerkennung", "anomaly detection";
    ByAdministrator => "Administrator-Konto", "administrator account";
    // Pharmacies
    PharmaciesTitle => "Apotheken", "Pharmacies";
    PharmaciesNone => "Keine Apotheke registriert.", "No pharmacy registered.";
    ColTelematikId => "Telematik-ID", "Telematik-ID";
    ColName => "Name", "Name";
    ColStatus => "Status", "Status";
    Suspend => "Sperren (suspendieren)", "Suspend";
    Reactivate => "Wieder zulassen", "Reactivate";
    // Errors
    ErrorTitle => "Das hat nicht geklappt", "That did not work";
    ErrorCode => "Fehlercode", "Error code";
    RequestId => "Anfrage-ID", "Request id";
    BackToStart => "Zur Übersicht", "Back to the overview";
    ErrInvalidCredentials => "Benutzername oder Passwort ist falsch.", "The username or the password is wrong.";
    ErrTotpInvalid => "Der Code ist falsch, zu alt oder wurde schon verwendet.", "The code is wrong, too old or was already used.";
    ErrAccountLocked => "Zu viele Fehlversuche: Das Konto ist für 15 Minuten gesperrt.", "Too many failed attempts: the account is locked for 15 minutes.";
    ErrSessionRequired => "Bitte melden Sie sich an.", "Please sign in.";
    ErrSessionExpired => "Die Sitzung ist abgelaufen. Bitte melden Sie sich erneut an.", "The session has ended. Please sign in again.";
    ErrSessionBindingMismatch => "Die Sitzung gehört zu einem anderen Zertifikat.", "The session belongs to another certificate.";
    ErrOperatorDisabled => "Das Konto ist deaktiviert.", "The account is disabled.";
    ErrForbiddenRole => "Nur Administratoren des Verbands haben hier Zugang.", "Only the association's administrators have access here.";
    ErrCsrfInvalid => "Das Formular ist abgelaufen oder kam nicht von dieser Seite. Bitte laden Sie die Seite neu.",
        "The form has expired or did not come from this site. Please reload the page.";
    ErrStoreUnavailable => "Die Datenbank ist gerade nicht erreichbar. Bitte später erneut versuchen.", "The database cannot be reached right now. Please try again later.";
    ErrRandomUnavailable => "Der Zufallsgenerator des Servers ist nicht verfügbar.", "The server's random generator is unavailable.";
    ErrInternal => "Ein interner Fehler ist aufgetreten.", "An internal error occurred.";
    ErrNotFound => "Diese Seite gibt es nicht.", "This page does not exist.";
    ErrCommentRequired => "Ein Kommentar ist erforderlich: Was wurde festgestellt?", "A comment is required: what was found?";
    ErrInvalidComment => "Der Kommentar darf höchstens 500 Zeichen ohne Steuerzeichen haben.", "The comment may have at most 500 characters without control characters.";
    ErrAlertNotFound => "Diese Warnung gibt es nicht.", "There is no such alert.";
    ErrAlertAlreadyAcknowledged => "Diese Warnung wurde bereits bestätigt.", "This alert was acknowledged already.";
    ErrInvalidReason => "Der Grund ist ein Code aus Kleinbuchstaben, Ziffern und _ (höchstens 64 Zeichen).", "The reason is a code of lowercase letters, digits and _ (at most 64 characters).";
    ErrInvalidTarget => "Das Ziel muss 1 bis 128 Zeichen ohne Leerzeichen haben.", "The target must be 1 to 128 characters without spaces.";
    ErrTargetRequired => "Für eine Apotheke oder ein Konto ist das Ziel anzugeben.", "A pharmacy or an account needs a target.";
    ErrInvalidScope => "Wählen Sie alle, eine Apotheke oder ein Konto.", "Choose everyone, a pharmacy or an account.";
    ErrUnknownOperator => "Es gibt kein Konto mit dieser Nummer.", "There is no account with this number.";
    ErrPharmacyNotRegistered => "Diese Apotheke ist nicht registriert.", "This pharmacy is not registered.";
    // Notices
    LoggedOut => "Sie wurden abgemeldet.", "You have been signed out.";
    NoticeAcknowledged => "Die Warnung wurde bestätigt.", "The alert was acknowledged.";
    NoticeLocked => "Die Sperre gilt ab der nächsten Anfrage.", "The lock holds from the next request.";
    NoticeLifted => "Die Sperre wurde aufgehoben.", "The lock was lifted.";
    NoticeNotLocked => "Es bestand keine solche Sperre; nichts geändert.", "There was no such lock; nothing changed.";
    NoticeSuspended => "Die Apotheke wurde suspendiert.", "The pharmacy was suspended.";
    NoticeReactivated => "Die Apotheke wurde wieder zugelassen.", "The pharmacy was reactivated.";
    // Codes of the data shown
    RuleOffHours => "Ausgabe außerhalb der Öffnungszeiten", "Issuing outside opening hours";
    RuleOffHoursRepeated => "Wiederholte Ausgabe außerhalb der Öffnungszeiten", "Repeated issuing outside opening hours";
    RuleVolumeSpike => "Menge weit über dem Üblichen", "Volume far above the baseline";
    RuleBurst => "Schneller als ein Mensch arbeiten kann", "Faster than a person can work";
    RuleHolderRepeated => "Viele Zertifikate für dieselbe Person", "Many certificates for the same person";
    RuleHolderPharmacies => "Dieselbe Person bei mehreren Apotheken", "The same person at several pharmacies";
    RuleImplausibleContent => "Unplausibler Inhalt", "Implausible content";
    RuleDoseSequence => "Dosisfolge widerspricht früheren Zertifikaten", "Dose sequence contradicts earlier certificates";
    ActionWarn => "Nur gewarnt", "Warned only";
    ActionThrottle => "Gedrosselt", "Throttled";
    ActionLockOperator => "Konto gesperrt", "Operator locked";
    ActionLockPharmacy => "Apotheke gesperrt", "Pharmacy locked";
    SeverityWarning => "Hinweis", "Warning";
    SeverityHigh => "Hoch", "High";
    SeverityCritical => "Kritisch", "Critical";
    ScopeAll => "Alle", "Everyone";
    ScopePharmacy => "Eine Apotheke", "One pharmacy";
    ScopeOperator => "Ein Konto", "One account";
    StatusActive => "Aktiv", "Active";
    StatusSuspended => "Suspendiert", "Suspended";
}

impl AdminMsg {
    /// The message for a stable code: errors of the use cases and the pages, notices, and the
    /// codes of rules, actions, severities, lock scopes and pharmacy states.
    pub fn for_code(code: &str) -> Option<Self> {
        Some(match code {
            "invalid_credentials" => Self::ErrInvalidCredentials,
            "totp_invalid" => Self::ErrTotpInvalid,
            "account_locked" => Self::ErrAccountLocked,
            "session_required" => Self::ErrSessionRequired,
            "session_expired" => Self::ErrSessionExpired,
            "session_binding_mismatch" => Self::ErrSessionBindingMismatch,
            "operator_disabled" => Self::ErrOperatorDisabled,
            "forbidden_role" => Self::ErrForbiddenRole,
            "csrf_invalid" => Self::ErrCsrfInvalid,
            "store_unavailable" => Self::ErrStoreUnavailable,
            "random_unavailable" => Self::ErrRandomUnavailable,
            "internal_error" => Self::ErrInternal,
            "not_found" => Self::ErrNotFound,
            "comment_required" => Self::ErrCommentRequired,
            "invalid_comment" => Self::ErrInvalidComment,
            "alert_not_found" => Self::ErrAlertNotFound,
            "alert_already_acknowledged" => Self::ErrAlertAlreadyAcknowledged,
            "invalid_reason" => Self::ErrInvalidReason,
            "invalid_target" => Self::ErrInvalidTarget,
            "target_required" => Self::ErrTargetRequired,
            "invalid_scope" => Self::ErrInvalidScope,
            "unknown_operator" => Self::ErrUnknownOperator,
            "pharmacy_not_registered" => Self::ErrPharmacyNotRegistered,
            "logged_out" => Self::LoggedOut,
            "acknowledged" => Self::NoticeAcknowledged,
            "locked" => Self::NoticeLocked,
            "lifted" => Self::NoticeLifted,
            "not_locked" => Self::NoticeNotLocked,
            "suspended" => Self::NoticeSuspended,
            "reactivated" => Self::NoticeReactivated,
            "off_hours" => Self::RuleOffHours,
            "off_hours_repeated" => Self::RuleOffHoursRepeated,
            "volume_spike" => Self::RuleVolumeSpike,
            "burst" => Self::RuleBurst,
            "holder_repeated" => Self::RuleHolderRepeated,
            "holder_pharmacies" => Self::RuleHolderPharmacies,
            "implausible_content" => Self::RuleImplausibleContent,
            "dose_sequence" => Self::RuleDoseSequence,
            "warn" => Self::ActionWarn,
            "throttle" => Self::ActionThrottle,
            "lock_operator" => Self::ActionLockOperator,
            "lock_pharmacy" => Self::ActionLockPharmacy,
            "warning" => Self::SeverityWarning,
            "high" => Self::SeverityHigh,
            "critical" => Self::SeverityCritical,
            "all" => Self::ScopeAll,
            "pharmacy" => Self::ScopePharmacy,
            "operator" => Self::ScopeOperator,
            "active" => Self::StatusActive,
            "status_suspended" => Self::StatusSuspended,
            _ => return None,
        })
    }

    /// The text for `code` in `lang`, or the code itself when it has none.
    pub fn code_text(lang: Lang, code: &str) -> String {
        match Self::for_code(code) {
            Some(message) => message.text(lang).to_owned(),
            None => code.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use dcc_anomaly::action::{Action, Severity};
    use dcc_anomaly::finding::Rule;
    use dcc_issuance::alerts::AlertError;
    use dcc_issuance::kill_switch::KillSwitchError;
    use dcc_issuance::operators::AuthError;

    use super::*;

    #[test]
    fn every_message_has_a_text_in_both_languages() {
        for message in AdminMsg::ALL {
            let german = message.text(Lang::De);
            let english = message.text(Lang::En);
            assert!(!german.trim().is_empty(), "{message:?} has no German text");
            assert!(
                !english.trim().is_empty(),
                "{message:?} has no English text"
            );
        }
        let identical: Vec<&AdminMsg> = AdminMsg::ALL
            .iter()
            .filter(|m| m.text(Lang::De) == m.text(Lang::En))
            .collect();
        assert_eq!(
            identical,
            [
                &AdminMsg::ColTelematikId,
                &AdminMsg::ColName,
                &AdminMsg::ColStatus
            ],
            "untranslated texts"
        );
    }

    #[test]
    fn every_code_the_pages_show_is_translated() {
        let mut codes: Vec<&str> = vec![
            "csrf_invalid",
            "store_unavailable",
            "random_unavailable",
            "internal_error",
            "not_found",
            "target_required",
            "invalid_scope",
            "pharmacy_not_registered",
            "logged_out",
            "acknowledged",
            "locked",
            "lifted",
            "not_locked",
            "suspended",
            "reactivated",
            "all",
            "pharmacy",
            "operator",
            "active",
            "status_suspended",
        ];
        codes.extend(Rule::ALL.iter().map(|rule| rule.code()));
        codes.extend(Action::ALL.iter().map(|action| action.code()));
        codes.extend(
            [Severity::Warning, Severity::High, Severity::Critical].map(|severity| severity.code()),
        );
        codes.extend(
            [
                AlertError::CommentRequired,
                AlertError::InvalidComment,
                AlertError::NotFound(1),
                AlertError::AlreadyAcknowledged(1),
            ]
            .iter()
            .map(AlertError::code),
        );
        codes.extend(
            [
                KillSwitchError::InvalidReason(String::new()),
                KillSwitchError::InvalidComment,
                KillSwitchError::InvalidTarget(String::new()),
                KillSwitchError::UnknownOperator(String::new()),
            ]
            .iter()
            .map(KillSwitchError::code),
        );
        codes.extend(
            [
                AuthError::InvalidCredentials,
                AuthError::TotpInvalid,
                AuthError::AccountLocked { until: 0 },
                AuthError::SessionRequired,
                AuthError::SessionExpired,
                AuthError::SessionBindingMismatch,
                AuthError::OperatorDisabled,
            ]
            .iter()
            .map(AuthError::code),
        );
        for code in codes {
            let message =
                AdminMsg::for_code(code).unwrap_or_else(|| panic!("{code} has no message"));
            assert_ne!(
                message.text(Lang::De),
                message.text(Lang::En),
                "{code} is not translated"
            );
        }
        assert_eq!(
            AdminMsg::code_text(Lang::En, "no_such_code"),
            "no_such_code"
        );
    }
}
