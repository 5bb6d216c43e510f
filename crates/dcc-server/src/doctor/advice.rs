//! What to do about each failure `dcc doctor` reports, by its stable code.

/// The advice for a failure code (pharmacy first, operator where it is theirs to fix).
pub fn what_to_do(code: &str) -> &'static str {
    match code {
        "dns_failed" | "dns_no_address" | "dns_timeout" => {
            "Check the portal address for typos; if it is right, this network's name service \
             cannot resolve it (ask your IT or the TI connector's operator)."
        }
        "connection_refused" => {
            "Nothing listens there: check the port in the portal address. If it is right, the \
             portal is down; try again later and tell the operator if it lasts."
        }
        "connect_timeout" | "unreachable" => {
            "The portal cannot be reached from this network: a firewall or route is in the way \
             (the TI connector or VPN may be down). Ask your IT."
        }
        "tls_timeout" | "connection_lost" => {
            "The connection opened but the portal did not answer in time, or the connection \
             broke: the portal may be overloaded, or something between you and it interferes \
             with TLS. Try again; tell your IT or the operator if it lasts."
        }
        "server_not_trusted" => {
            "The portal's certificate was not issued by the CA you trust. Pass the portal's CA \
             with --ca; if you did, you may be talking to a different server than the portal."
        }
        "server_name_mismatch" => {
            "The portal's certificate names another host: use the host name the operator \
             published, not an IP address or an alias."
        }
        "server_certificate_expired" => {
            "The portal's certificate is out of date (or this computer's clock is wrong): \
             check the clock, then tell the operator."
        }
        "client_certificate_unknown_ca" => {
            "The portal does not accept the CA that issued your institution certificate: use \
             your SMC-B's authentication certificate (C.HCI.AUT) from a TI card issuer."
        }
        "client_certificate_expired" => {
            "Your institution certificate has expired (or is not yet valid, or this computer's \
             clock is wrong): order a new SMC-B from your card issuer."
        }
        "client_certificate_revoked" => {
            "Your institution certificate has been revoked: contact your card issuer; if you \
             did not ask for it, also the portal's operator."
        }
        "client_certificate_missing" => {
            "Pass your institution certificate and key with --cert and --key."
        }
        "client_certificate_refused" | "closed_after_handshake" => {
            "The portal refused your certificate: check that --cert and --key are your SMC-B's \
             authentication certificate and its key."
        }
        "wrong_certificate_profile" => {
            "The certificate is not an institution authentication certificate (C.HCI.AUT): use \
             the SMC-B's AUT certificate, not its encryption or signature certificate."
        }
        "profession_not_allowed" => {
            "Your institution's profession may not issue certificates on this portal (only \
             public pharmacies): ask the operator if you think this is wrong."
        }
        "pharmacy_not_registered" => {
            "The portal does not know your Telematik-ID: ask the operator to register your \
             pharmacy, giving the Telematik-ID shown above."
        }
        "pharmacy_suspended" => "Your pharmacy is suspended on this portal: contact the operator.",
        "issuance_locked" => {
            "Issuance is locked for your pharmacy or for everyone (reason shown above): \
             contact the operator."
        }
        "portal_not_ready" | "overloaded" | "store_unavailable" | "signer_unavailable"
        | "random_unavailable" => {
            "The portal is reachable but cannot issue right now because of its own hop named \
             above. Nothing to change on your side: retry in a few minutes and tell the \
             operator if it lasts."
        }
        "invalid_fields" | "unreadable_json" => {
            "The portal refused dcc doctor's sample request: this dcc and the portal may be of \
             different versions. Tell the operator."
        }
        "login_required" => {
            "The portal asks for an operator login for this check; the hops before it work."
        }
        "check_not_offered" => {
            "The portal is of an older version without this check; the hops before it work."
        }
        _ => {
            "Unexpected: keep this output and tell the portal's operator (the request id is in \
             the portal's logs)."
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_the_doctor_reports_has_its_own_advice() {
        let fallback = what_to_do("no such code");
        for code in [
            "dns_failed",
            "dns_no_address",
            "dns_timeout",
            "connection_refused",
            "connect_timeout",
            "unreachable",
            "tls_timeout",
            "connection_lost",
            "server_not_trusted",
            "server_name_mismatch",
            "server_certificate_expired",
            "client_certificate_unknown_ca",
            "client_certificate_expired",
            "client_certificate_revoked",
            "client_certificate_missing",
            "client_certificate_refused",
            "closed_after_handshake",
            "wrong_certificate_profile",
            "profession_not_allowed",
            "pharmacy_not_registered",
            "pharmacy_suspended",
            "issuance_locked",
            "portal_not_ready",
            "store_unavailable",
            "invalid_fields",
            "login_required",
            "check_not_offered",
        ] {
            assert_ne!(what_to_do(code), fallback, "{code}");
        }
    }
}
