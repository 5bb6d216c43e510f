//! Every text of the staff pages in German and English, in one table.
//!
//! A message is a [`Msg`] variant; the table gives its German and English text side by side,
//! so a message cannot exist in one language only (the macro needs both). Texts may carry
//! named placeholders (`{dose}`) filled by [`Msg::fill`]. Error, warning and violation codes
//! of the use cases map to messages through [`Msg::for_code`]; a test checks that every code
//! the pages can show has one.

use std::fmt;

/// The language of a page: German by default, English on request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// Deutsch (the default).
    #[default]
    De,
    /// English.
    En,
}

impl Lang {
    /// Both languages.
    pub const ALL: [Self; 2] = [Self::De, Self::En];

    /// The ISO 639-1 code, used in `lang`, the cookie and `?lang=`.
    pub fn code(self) -> &'static str {
        match self {
            Self::De => "de",
            Self::En => "en",
        }
    }

    /// Reads a language code (`de`, `en`); anything else is `None`.
    pub fn parse(code: &str) -> Option<Self> {
        match code.trim().to_ascii_lowercase().as_str() {
            "de" => Some(Self::De),
            "en" => Some(Self::En),
            _ => None,
        }
    }

    /// The other language (what the switch on every page offers).
    pub fn other(self) -> Self {
        match self {
            Self::De => Self::En,
            Self::En => Self::De,
        }
    }

    /// The text of `message` in this language.
    pub fn t(self, message: Msg) -> &'static str {
        message.text(self)
    }

    /// The text for a stable code (error, warning, violation), or the code itself when no
    /// translation exists (a test keeps that from happening for known codes).
    pub fn code_text(self, code: &str) -> String {
        match Msg::for_code(code) {
            Some(message) => message.text(self).to_owned(),
            None => code.to_owned(),
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Declares a message enum `$name` with its German and English texts side by side (the staff
/// pages' [`Msg`] here, the admin pages' in `crate::admin_ui::i18n`).
macro_rules! messages {
    ($(#[$doc:meta])* $name:ident; $($key:ident => $de:literal, $en:literal;)*) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[expect(missing_docs, reason = "each variant is documented by its two texts below")]
        pub enum $name {
            $($key,)*
        }

        impl $name {
            /// Every message, in table order.
            pub const ALL: &'static [$name] = &[$($name::$key,)*];

            /// The text in `lang`.
            pub fn text(self, lang: $crate::ui::i18n::Lang) -> &'static str {
                use $crate::ui::i18n::Lang;
                match (self, lang) {
                    $(($name::$key, Lang::De) => $de, ($name::$key, Lang::En) => $en,)*
                }
            }
        }
    };
}

pub(crate) use messages;

messages! {
    /// A text of the staff pages; see the table in this module for both languages.
    Msg;
    // Layout
    AppTitle => "Zertifikatsausgabe", "Certificate counter";
    SwitchLanguage => "English", "Deutsch";
    Logout => "Abmelden", "Sign out";
    SignedInAs => "Angemeldet als", "Signed in as";
    NavCounter => "Ausgabe", "Counter";
    NavOperators => "Mitarbeitende", "Operators";
    NavStatements => "Abrechnungen", "Statements";
    StatementsTitle => "Monatsabrechnungen", "Monthly statements";
    StatementsEmpty => "Es gibt noch keine abgeschlossene Monatsabrechnung.", "There is no closed monthly statement yet.";
    ColMonth => "Monat", "Month";
    ColIssued => "Ausgestellt", "Issued";
    ColBilled => "Abgerechnet", "Billed";
    ColTotal => "Betrag", "Amount";
    ColFiles => "Dateien", "Files";
    ErrStatementNotFound => "Für diesen Monat gibt es keine Abrechnung.", "There is no statement for this month.";
    ErrInvalidMonth => "Ein Monat wird JJJJ-MM geschrieben, z. B. 2021-07.", "A month is written YYYY-MM, e.g. 2021-07.";
    ErrStatementUnavailable => "Die Abrechnung kann gerade nicht erstellt werden.", "The statement cannot be produced right now.";
    ChooseOption => "– bitte wählen –", "– please choose –";
    // Login and enrolment
    LoginTitle => "Anmelden", "Sign in";
    LoginIntro => "Melden Sie sich mit Ihrem persönlichen Konto an. Jedes Zertifikat wird Ihnen zugeordnet.",
        "Sign in with your personal account. Every certificate is recorded under your name.";
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
    LoggedOut => "Sie wurden abgemeldet.", "You have been signed out.";
    // Counter home
    CounterTitle => "Neues Zertifikat", "New certificate";
    TypeVaccination => "Impfzertifikat", "Vaccination certificate";
    TypeRecovery => "Genesenenzertifikat", "Recovery certificate";
    TypeTest => "Testzertifikat", "Test certificate";
    TodayTitle => "Heute ausgestellt", "Issued today";
    TodayEmpty => "Heute wurde noch kein Zertifikat ausgestellt.", "No certificate has been issued today.";
    ColTime => "Uhrzeit", "Time";
    ColType => "Art", "Type";
    ColUvci => "Zertifikatskennung (UVCI)", "Certificate identifier (UVCI)";
    ColOperator => "Ausgestellt von", "Issued by";
    Revoked => "widerrufen", "revoked";
    // Certificate forms
    Person => "Person", "Person";
    FamilyName => "Nachname", "Family name";
    GivenName => "Vorname", "Given name";
    DateOfBirth => "Geburtsdatum", "Date of birth";
    DateHint => "TT.MM.JJJJ oder JJJJ-MM-TT", "DD.MM.YYYY or YYYY-MM-DD";
    DateTimeHint => "TT.MM.JJJJ HH:MM (Ortszeit)", "DD.MM.YYYY HH:MM (local time)";
    Event => "Angaben zum Ereignis", "Event";
    Disease => "Krankheit", "Disease";
    VaccineProphylaxis => "Impfstofftyp", "Vaccine or prophylaxis";
    Product => "Impfstoff", "Vaccine product";
    Manufacturer => "Hersteller", "Manufacturer";
    DoseNumber => "Dosis Nr.", "Dose number";
    TotalDoses => "von insgesamt", "of doses in series";
    VaccinationDate => "Datum der Impfung", "Date of vaccination";
    Country => "Land", "Country";
    CountryFixed => "Das Land wird von der Ausgabestelle festgelegt.", "The country is set by the issuing service.";
    TestType => "Testart", "Type of test";
    TestName => "Testname (PCR)", "Test name (NAAT)";
    TestDevice => "Testgerät (Antigen-Schnelltest)", "Test device (rapid antigen test)";
    SampleCollected => "Probenahme", "Sample collected";
    TestResult => "Testergebnis", "Test result";
    TestingCentre => "Testzentrum", "Testing centre";
    FirstPositive => "Datum des ersten positiven Tests", "Date of the first positive test";
    Preview => "Vorschau", "Preview";
    StandardisedNames => "Standardisierte Namen (ICAO)", "Standardised names (ICAO)";
    NoWarnings => "Keine Auffälligkeiten.", "Nothing unusual.";
    WarningsTitle => "Bitte prüfen", "Please check";
    IssueButton => "Zertifikat ausstellen", "Issue certificate";
    IssueAnywayButton => "Trotzdem ausstellen", "Issue anyway";
    ConfirmIntro => "Die Angaben sind ungewöhnlich. Bitte prüfen Sie sie, bevor Sie ausstellen:",
        "The input looks unusual. Please check it before issuing:";
    FixErrors => "Bitte korrigieren Sie die markierten Felder.", "Please correct the marked fields.";
    Cancel => "Abbrechen", "Cancel";
    // Result
    IssuedTitle => "Zertifikat ausgestellt", "Certificate issued";
    ScanHint => "Die Person kann den QR-Code direkt vom Bildschirm scannen.", "The holder can scan the QR code straight from the screen.";
    QrAlt => "QR-Code des Zertifikats", "QR code of the certificate";
    DownloadPdf => "PDF herunterladen", "Download PDF";
    PrintPdf => "Drucken (PDF öffnen)", "Print (open PDF)";
    NextCertificate => "Nächstes Zertifikat", "Next certificate";
    Expires => "Gültig bis", "Valid until";
    // Warnings (dcc_core::plausibility)
    WarnDoseAboveSeries => "Dosis {dose} ist höher als die Zahl der Dosen der Serie ({total}).",
        "Dose {dose} is above the number of doses in the series ({total}).";
    WarnVaccinationInFuture => "Das Impfdatum liegt in der Zukunft.", "The vaccination date is in the future.";
    WarnVaccinationBeforeAuthorisation => "Das Impfdatum liegt vor der EU-Zulassung des Impfstoffs ({date}).",
        "The vaccination date is before the product's EU authorisation ({date}).";
    WarnTestInFuture => "Die Probenahme liegt in der Zukunft.", "The sample collection is in the future.";
    WarnPositiveTestInFuture => "Der positive Test liegt in der Zukunft.", "The positive test is in the future.";
    WarnRecoveryTooEarly => "Der positive Test ist erst {days} Tage her; das Zertifikat gilt ab Tag 28.",
        "The positive test was only {days} days ago; the certificate is valid from day 28.";
    WarnRecoveryTooLate => "Der positive Test ist {days} Tage her; das Zertifikat gilt nur bis Tag 180.",
        "The positive test was {days} days ago; the certificate is valid only until day 180.";
    // Field problems (form parsing and the use case's violation codes)
    FieldRequired => "Pflichtfeld.", "Required.";
    FieldDateFormat => "Datum bitte als TT.MM.JJJJ oder JJJJ-MM-TT.", "Please write the date as DD.MM.YYYY or YYYY-MM-DD.";
    FieldDateTimeFormat => "Zeitpunkt bitte als TT.MM.JJJJ HH:MM.", "Please write the time as DD.MM.YYYY HH:MM.";
    FieldNumberFormat => "Bitte eine ganze Zahl von 1 bis 9 eingeben.", "Please enter a whole number from 1 to 9.";
    ViolationSchema => "Ungültiger Wert.", "Invalid value.";
    ViolationValueSet => "Nicht in der amtlichen Werteliste.", "Not in the official value set.";
    ViolationImplausibleDate => "Unzulässiges Datum (z. B. in der Zukunft).", "Date not allowed (e.g. in the future).";
    ViolationSetByServer => "Wird vom Server gesetzt.", "Set by the server.";
    ViolationUnknownField => "Unbekanntes Feld.", "Unknown field.";
    ViolationInvalid => "Ungültige Angabe.", "Invalid input.";
    // Errors of issuance (IssueError::code and the portal's own)
    ErrPharmacyNotRegistered => "Diese Apotheke ist nicht registriert.", "This pharmacy is not registered.";
    ErrPharmacySuspended => "Diese Apotheke ist gesperrt.", "This pharmacy is suspended.";
    ErrUnreadableJson => "Die Anfrage war nicht lesbar.", "The request could not be read.";
    ErrWrongDataModel => "Die Anfrage entspricht nicht dem Datenmodell.", "The request does not follow the data model.";
    ErrInvalidFields => "Einige Angaben sind ungültig.", "Some fields are invalid.";
    ErrIssuerMisconfigured => "Die Ausgabestelle ist falsch eingerichtet. Bitte melden Sie den Fehler.",
        "The issuing service is misconfigured. Please report this error.";
    ErrInvalidIdempotencyKey => "Das Formular ist ungültig; bitte neu laden.", "The form is invalid; please reload it.";
    ErrIdempotencyKeyReused => "Dieses Formular wurde schon mit anderen Angaben abgeschickt. Bitte ein neues Formular verwenden.",
        "This form was already submitted with different data. Please use a new form.";
    ErrResponseExpired => "Das Zertifikat wurde vor über 24 Stunden ausgestellt und wird nicht mehr vorgehalten.",
        "The certificate was issued more than 24 hours ago and is no longer kept.";
    ErrSignerRefused => "Der Zertifikatsserver hat die Signatur verweigert.", "The certificate server refused to sign.";
    ErrSignerUnavailable => "Der Zertifikatsserver ist nicht erreichbar. Bitte später erneut versuchen.",
        "The certificate server cannot be reached. Please try again later.";
    ErrIssuanceLocked => "Die Ausgabe ist für diese Apotheke gesperrt.", "Issuance is locked for this pharmacy.";
    ErrRateLimited => "Zu viele Zertifikate in kurzer Zeit. Bitte kurz warten.", "Too many certificates in a short time. Please wait a moment.";
    ErrStoreUnavailable => "Die Datenbank ist nicht erreichbar. Bitte später erneut versuchen.",
        "The database cannot be reached. Please try again later.";
    ErrOverloaded => "Der Dienst ist ausgelastet. Bitte gleich erneut versuchen.", "The service is busy. Please try again in a moment.";
    ErrRandomUnavailable => "Der Dienst kann gerade keine Zertifikate ausstellen.", "The service cannot issue certificates right now.";
    ErrRenderFailed => "Das Zertifikat wurde ausgestellt, konnte aber nicht dargestellt werden.",
        "The certificate was issued but could not be displayed.";
    ErrNotFound => "Nicht gefunden.", "Not found.";
    ErrCertificateNotKept => "Dieses Zertifikat ist nicht (mehr) abrufbar.", "This certificate is not available (any more).";
    // Errors of sign-in and sessions (AuthError::code)
    ErrInvalidCredentials => "Benutzername, Passwort oder Code ist falsch.", "Username, password or code is wrong.";
    ErrTotpInvalid => "Der Code ist falsch oder abgelaufen.", "The code is wrong or has expired.";
    ErrAccountLocked => "Das Konto ist nach mehreren Fehlversuchen vorübergehend gesperrt.",
        "The account is locked for a while after several failed attempts.";
    ErrSessionRequired => "Bitte melden Sie sich an.", "Please sign in.";
    ErrSessionExpired => "Ihre Sitzung ist abgelaufen. Bitte melden Sie sich erneut an.", "Your session has expired. Please sign in again.";
    ErrSessionBindingMismatch => "Diese Sitzung gehört zu einer anderen Apotheke (anderes Institutionszertifikat). Sie wurde beendet.",
        "This session belongs to another pharmacy (another institution certificate). It has been ended.";
    ErrOperatorDisabled => "Dieses Konto ist deaktiviert.", "This account is disabled.";
    ErrForbiddenRole => "Ihre Rolle erlaubt das nicht.", "Your role does not allow this.";
    ErrPasswordTooShort => "Das Passwort ist zu kurz (mindestens 12 Zeichen).", "The password is too short (at least 12 characters).";
    ErrUsernameTaken => "Dieser Benutzername ist schon vergeben.", "This username is already taken.";
    ErrPasswordTooLong => "Das Passwort ist zu lang.", "The password is too long.";
    ErrInvalidUsername => "Benutzernamen bestehen aus 1 bis 64 Zeichen a–z, 0–9, '.', '_' und '-'.",
        "A username is 1 to 64 characters from a–z, 0–9, '.', '_' and '-'.";
    ErrUnknownOperator => "Dieses Konto gibt es nicht.", "There is no such account.";
    ErrRoleScopeMismatch => "Diese Rolle passt nicht zu einer Apotheke.", "This role does not belong to a pharmacy.";
    ErrInternal => "Ein interner Fehler ist aufgetreten. Bitte melden Sie ihn mit der Anfrage-ID.",
        "An internal error occurred. Please report it with the request id.";
    ErrCsrfInvalid => "Das Formular ist abgelaufen oder stammt nicht von dieser Seite. Bitte laden Sie die Seite neu.",
        "The form has expired or does not come from this site. Please reload the page.";
    // Errors of the connection (identity)
    ErrWrongCertificateProfile => "Das Client-Zertifikat ist kein Institutionszertifikat (SMC-B).",
        "The client certificate is not an institution certificate (SMC-B).";
    ErrProfessionNotAllowed => "Diese Institution darf hier keine Zertifikate ausstellen.", "This institution may not issue certificates here.";
    ErrNoClientCertificate => "Ein Institutionszertifikat ist erforderlich.", "An institution certificate is required.";
    // Error page
    ErrorTitle => "Fehler", "Error";
    ErrorCode => "Fehlercode", "Error code";
    RequestId => "Anfrage-ID", "Request id";
    BackToStart => "Zur Startseite", "Back to the start";
    // Operator management
    OperatorsTitle => "Mitarbeitende dieser Apotheke", "Operators of this pharmacy";
    RoleOwner => "Inhaber/in", "Owner";
    RolePharmacist => "Apotheker/in", "Pharmacist";
    RoleTechnician => "PTA", "Pharmacy technician";
    RoleAdministrator => "Verbandsadministration", "Association administrator";
    Role => "Rolle", "Role";
    Status => "Status", "Status";
    StatusActive => "aktiv", "active";
    StatusDisabled => "deaktiviert", "disabled";
    StatusEnrolmentPending => "2. Faktor noch nicht eingerichtet", "second factor not set up yet";
    AddOperator => "Mitarbeitende/n anlegen", "Add operator";
    InitialPassword => "Erstes Passwort (mind. 12 Zeichen)", "Initial password (at least 12 characters)";
    Disable => "Deaktivieren", "Disable";
    Reset => "Zurücksetzen (neues Passwort, 2. Faktor neu)", "Reset (new password, new second factor)";
    OperatorAdded => "Angelegt. Beim ersten Anmelden wird der zweite Faktor eingerichtet.",
        "Added. The second factor is set up at the first sign-in.";
    OperatorDisabled => "Deaktiviert.", "Disabled.";
    OperatorReset => "Zurückgesetzt.", "Reset.";
    Actions => "Aktionen", "Actions";
}

impl Msg {
    /// The message for a stable code of the use cases: issuance and sign-in errors,
    /// plausibility warnings (without their numbers), field violations and identity refusals.
    pub fn for_code(code: &str) -> Option<Self> {
        Some(match code {
            // IssueError::code, RequestError::code
            "pharmacy_not_registered" => Self::ErrPharmacyNotRegistered,
            "pharmacy_suspended" => Self::ErrPharmacySuspended,
            "unreadable_json" => Self::ErrUnreadableJson,
            "wrong_data_model" => Self::ErrWrongDataModel,
            "invalid_fields" => Self::ErrInvalidFields,
            "issuer_misconfigured" => Self::ErrIssuerMisconfigured,
            "invalid_idempotency_key" => Self::ErrInvalidIdempotencyKey,
            "idempotency_key_reused" => Self::ErrIdempotencyKeyReused,
            "idempotent_response_expired" => Self::ErrResponseExpired,
            "signer_refused" => Self::ErrSignerRefused,
            "signer_unavailable" => Self::ErrSignerUnavailable,
            "issuance_locked" => Self::ErrIssuanceLocked,
            "rate_limited" => Self::ErrRateLimited,
            "store_unavailable" => Self::ErrStoreUnavailable,
            "overloaded" => Self::ErrOverloaded,
            "random_unavailable" => Self::ErrRandomUnavailable,
            "render_failed" => Self::ErrRenderFailed,
            "not_found" => Self::ErrNotFound,
            // Statements (StatementError::code and the page's own)
            "statement_not_found" => Self::ErrStatementNotFound,
            "invalid_month" => Self::ErrInvalidMonth,
            "statement_unavailable" => Self::ErrStatementUnavailable,
            "certificate_not_kept" => Self::ErrCertificateNotKept,
            // AuthError::code
            "invalid_credentials" => Self::ErrInvalidCredentials,
            "totp_invalid" => Self::ErrTotpInvalid,
            "account_locked" => Self::ErrAccountLocked,
            "session_required" => Self::ErrSessionRequired,
            "session_expired" => Self::ErrSessionExpired,
            "session_binding_mismatch" => Self::ErrSessionBindingMismatch,
            "operator_disabled" => Self::ErrOperatorDisabled,
            "forbidden_role" => Self::ErrForbiddenRole,
            "password_too_short" => Self::ErrPasswordTooShort,
            "username_taken" => Self::ErrUsernameTaken,
            "password_too_long" => Self::ErrPasswordTooLong,
            "invalid_username" => Self::ErrInvalidUsername,
            "unknown_operator" => Self::ErrUnknownOperator,
            "role_scope_mismatch" => Self::ErrRoleScopeMismatch,
            "internal_error" => Self::ErrInternal,
            "csrf_invalid" => Self::ErrCsrfInvalid,
            // IdentityRejection::code and the missing certificate
            "wrong_certificate_profile" => Self::ErrWrongCertificateProfile,
            "profession_not_allowed" => Self::ErrProfessionNotAllowed,
            "no_client_certificate" => Self::ErrNoClientCertificate,
            // FieldViolation::code and the form's own
            "schema" => Self::ViolationSchema,
            "value_set" => Self::ViolationValueSet,
            "implausible_date" => Self::ViolationImplausibleDate,
            "set_by_server" => Self::ViolationSetByServer,
            "unknown_field" => Self::ViolationUnknownField,
            "invalid" => Self::ViolationInvalid,
            "required" => Self::FieldRequired,
            "date_format" => Self::FieldDateFormat,
            "datetime_format" => Self::FieldDateTimeFormat,
            "number_format" => Self::FieldNumberFormat,
            // PlausibilityWarning::code
            "dose_above_series" => Self::WarnDoseAboveSeries,
            "vaccination_in_future" => Self::WarnVaccinationInFuture,
            "vaccination_before_authorisation" => Self::WarnVaccinationBeforeAuthorisation,
            "test_in_future" => Self::WarnTestInFuture,
            "positive_test_in_future" => Self::WarnPositiveTestInFuture,
            "recovery_too_early" => Self::WarnRecoveryTooEarly,
            "recovery_too_late" => Self::WarnRecoveryTooLate,
            _ => return None,
        })
    }

    /// The text in `lang` with its `{name}` placeholders replaced.
    pub fn fill(self, lang: Lang, values: &[(&str, &str)]) -> String {
        let mut text = self.text(lang).to_owned();
        for (name, value) in values {
            text = text.replace(&format!("{{{name}}}"), value);
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn placeholders(text: &str) -> BTreeSet<String> {
        text.split('{')
            .skip(1)
            .filter_map(|rest| rest.split_once('}').map(|(name, _)| name.to_owned()))
            .collect()
    }

    #[test]
    fn every_message_has_a_text_in_both_languages_with_the_same_placeholders() {
        for message in Msg::ALL {
            let german = message.text(Lang::De);
            let english = message.text(Lang::En);
            assert!(!german.trim().is_empty(), "{message:?} has no German text");
            assert!(
                !english.trim().is_empty(),
                "{message:?} has no English text"
            );
            assert_eq!(
                placeholders(german),
                placeholders(english),
                "{message:?}: placeholders differ"
            );
        }
        // Most texts differ between the languages; identical ones are the rare exceptions
        // (words spelled alike), not forgotten translations.
        let identical: Vec<&Msg> = Msg::ALL
            .iter()
            .filter(|m| m.text(Lang::De) == m.text(Lang::En))
            .collect();
        assert_eq!(
            identical,
            [&Msg::Person, &Msg::Status],
            "untranslated texts"
        );
    }

    /// Every code a page can show: `IssueError::code`, `RequestError::code`, the portal's own,
    /// `AuthError::code`, `IdentityRejection::code`, `FieldViolation::code` and the form's,
    /// `PlausibilityWarning::code`.
    const KNOWN_CODES: &[&str] = &[
        "pharmacy_not_registered",
        "pharmacy_suspended",
        "unreadable_json",
        "wrong_data_model",
        "invalid_fields",
        "issuer_misconfigured",
        "invalid_idempotency_key",
        "idempotency_key_reused",
        "idempotent_response_expired",
        "signer_refused",
        "signer_unavailable",
        "issuance_locked",
        "rate_limited",
        "store_unavailable",
        "overloaded",
        "random_unavailable",
        "render_failed",
        "invalid_credentials",
        "totp_invalid",
        "account_locked",
        "session_required",
        "session_expired",
        "session_binding_mismatch",
        "operator_disabled",
        "forbidden_role",
        "password_too_short",
        "username_taken",
        "password_too_long",
        "invalid_username",
        "unknown_operator",
        "role_scope_mismatch",
        "internal_error",
        "csrf_invalid",
        "wrong_certificate_profile",
        "profession_not_allowed",
        "no_client_certificate",
        "schema",
        "value_set",
        "implausible_date",
        "set_by_server",
        "unknown_field",
        "invalid",
        "dose_above_series",
        "vaccination_in_future",
        "vaccination_before_authorisation",
        "test_in_future",
        "positive_test_in_future",
        "recovery_too_early",
        "recovery_too_late",
    ];

    #[test]
    fn every_known_code_is_translated() {
        for code in KNOWN_CODES {
            let message = Msg::for_code(code).unwrap_or_else(|| panic!("{code} has no message"));
            assert_ne!(Lang::De.code_text(code), *code);
            assert_ne!(message.text(Lang::De), message.text(Lang::En), "{code}");
        }
        assert_eq!(Lang::En.code_text("no_such_code"), "no_such_code");
    }

    #[test]
    fn the_issuance_error_codes_are_all_known() {
        use dcc_core::plausibility::PlausibilityWarning;
        use dcc_issuance::issue::IssueError;
        use dcc_issuance::request::{ModelProblem, RequestError};

        let errors = [
            IssueError::NotRegistered(String::new()),
            IssueError::Suspended(String::new()),
            IssueError::Request(RequestError::WrongModel(ModelProblem::NoEntry)),
            IssueError::Request(RequestError::Invalid(Vec::new())),
            IssueError::InvalidIdempotencyKey,
            IssueError::IdempotencyKeyReused,
            IssueError::ResponseExpired {
                uvci: String::new(),
            },
            IssueError::Locked {
                reason: String::new(),
            },
            IssueError::ShuttingDown,
        ];
        for error in &errors {
            assert!(KNOWN_CODES.contains(&error.code()), "{}", error.code());
        }
        let warnings = [
            PlausibilityWarning::DoseAboveSeries {
                dose_number: 3,
                total_doses: 2,
            },
            PlausibilityWarning::VaccinationInFuture,
            PlausibilityWarning::TestInFuture,
            PlausibilityWarning::PositiveTestInFuture,
            PlausibilityWarning::RecoveryTooEarly { days: 3 },
            PlausibilityWarning::RecoveryTooLate { days: 300 },
        ];
        for warning in warnings {
            assert!(KNOWN_CODES.contains(&warning.code()), "{}", warning.code());
        }
    }

    #[test]
    fn placeholders_are_filled() {
        let text = Msg::WarnDoseAboveSeries.fill(Lang::En, &[("dose", "3"), ("total", "2")]);
        assert_eq!(
            text,
            "Dose 3 is above the number of doses in the series (2)."
        );
        assert_eq!(Lang::parse("EN"), Some(Lang::En));
        assert_eq!(Lang::parse("fr"), None);
        assert_eq!(Lang::default(), Lang::De);
    }
}
