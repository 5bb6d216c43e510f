//! Issuing from the counter: the same use case and admission control as
//! `POST /api/certify/v2/issue`, with the body the form made and an idempotency key derived
//! from the form's random token, so a double submit returns the first certificate.

use dcc_issuance::issue::Issued;

use crate::clock;
use crate::portal::PortalState;

/// Issues the certificate of `body` for the pharmacy, recorded under the operator.
pub async fn issue(
    state: &PortalState,
    telematik_id: &str,
    operator_id: i64,
    body: &[u8],
    form_token: &str,
) -> Result<Issued, IssueFailure> {
    let Ok(_permit) = state.in_flight.clone().try_acquire_owned() else {
        return Err(IssueFailure::Code("overloaded"));
    };
    let issuance = state.issuance();
    let random = clock::random().map_err(|_| IssueFailure::Code("random_unavailable"))?;
    #[expect(
        clippy::disallowed_methods,
        reason = "latency for the metrics, not an input to any decision"
    )]
    let started = std::time::Instant::now();
    let key = idempotency_key(form_token);
    let issued = issuance
        .issue(
            telematik_id,
            Some(operator_id),
            body,
            Some(&key),
            clock::now(),
            random,
        )
        .await
        .map_err(IssueFailure::Issue)?;
    if !issued.replayed {
        state
            .metrics
            .issued(issued.certificate_type.key(), started.elapsed());
    }
    Ok(issued)
}

/// Why the counter could not issue.
#[derive(Debug)]
pub enum IssueFailure {
    /// The use case refused or failed.
    Issue(dcc_issuance::issue::IssueError),
    /// The portal refused before the use case (overload, no randomness).
    Code(&'static str),
}

impl IssueFailure {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Issue(error) => error.code(),
            Self::Code(code) => code,
        }
    }
}

/// The idempotency key of a form: `counter-` and the form's token (the use case checks the
/// key's shape, so a tampered token is refused there).
pub fn idempotency_key(form_token: &str) -> String {
    format!("counter-{form_token}")
}
