//! The hops of `dcc doctor` that ask the portal's API, once mutual TLS works: the portal's
//! view of the pharmacy, its readiness, and a dry-run issuance.

use serde_json::{Value, json};

use super::Failure;

/// The portal's API over the pharmacy's mutual TLS identity.
pub struct PortalChecks<'a> {
    /// The HTTPS client presenting the institution certificate.
    pub client: &'a reqwest::Client,
    /// The portal's base URL.
    pub base: &'a reqwest::Url,
}

impl PortalChecks<'_> {
    /// `GET /api/pharmacy/registration`: the certificate qualifies and the pharmacy is
    /// registered and active.
    pub async fn registration(&self) -> Result<String, Failure> {
        let (status, body) = self.get("/api/pharmacy/registration").await?;
        match status {
            200 => Ok(format!(
                "the portal knows this pharmacy as {} ({})",
                field(&body, "telematik_id").unwrap_or("?"),
                field(&body, "status").unwrap_or("?")
            )),
            404 => Err(Failure::new(
                "check_not_offered",
                "the portal does not offer GET /api/pharmacy/registration (an older version)"
                    .into(),
            )),
            _ => Err(refusal(status, &body)),
        }
    }

    /// `GET /health/ready`: every hop of the portal answers.
    pub async fn readiness(&self) -> Result<String, Failure> {
        let (status, body) = self.get("/health/ready").await?;
        let hops = body.get("hops").and_then(Value::as_object);
        let described: Vec<String> = hops
            .into_iter()
            .flatten()
            .map(|(name, hop)| {
                let state = match field(hop, "code") {
                    Some(code) => format!("down ({code})"),
                    None if hop.get("ok") == Some(&json!(true)) => "ok".to_owned(),
                    None => "down".to_owned(),
                };
                let latency = hop.get("latency_ms").and_then(Value::as_f64).unwrap_or(0.0);
                format!("{name} {state} {latency} ms")
            })
            .collect();
        let described = described.join(", ");
        match status {
            200 => Ok(format!("the portal is ready: {described}")),
            503 => Err(Failure::new(
                "portal_not_ready",
                format!("the portal cannot issue right now: {described}"),
            )),
            _ => Err(Failure::new(
                "portal_not_ready",
                format!("GET /health/ready answered HTTP {status}"),
            )),
        }
    }

    /// `POST /api/certify/v2/dry-run` with a synthetic vaccination: the portal would issue it.
    pub async fn dry_run(&self) -> Result<String, Failure> {
        let url = self.url("/api/certify/v2/dry-run")?;
        let response = self
            .client
            .post(url)
            .json(&sample_request())
            .send()
            .await
            .map_err(transport)?;
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        match status {
            200 => Ok(format!(
                "the portal would issue a certificate of type {:?} for a synthetic request \
                 (nothing was signed or recorded)",
                field(&body, "certificate_type").unwrap_or("?")
            )),
            404 => Err(Failure::new(
                "check_not_offered",
                "the portal does not offer POST /api/certify/v2/dry-run (an older version)".into(),
            )),
            _ => Err(refusal(status, &body)),
        }
    }

    async fn get(&self, path: &str) -> Result<(u16, Value), Failure> {
        let response = self
            .client
            .get(self.url(path)?)
            .send()
            .await
            .map_err(transport)?;
        let status = response.status().as_u16();
        Ok((status, response.json().await.unwrap_or(Value::Null)))
    }

    fn url(&self, path: &str) -> Result<reqwest::Url, Failure> {
        self.base
            .join(path)
            .map_err(|error| Failure::new("tls_failed", format!("bad URL {path}: {error}")))
    }
}

/// A text field of a JSON answer.
fn field<'a>(value: &'a Value, name: &str) -> Option<&'a str> {
    value.get(name)?.as_str()
}

/// The portal's refusal: its stable code and message, kept as they are.
fn refusal(status: u16, body: &Value) -> Failure {
    let code = field(body, "code").unwrap_or("");
    let message = field(body, "message").unwrap_or("no message");
    let reason = field(body, "reason")
        .map(|reason| format!(" (reason: {reason})"))
        .unwrap_or_default();
    Failure::new(
        known_code(code).unwrap_or(if status == 401 {
            "login_required"
        } else {
            "unexpected_answer"
        }),
        format!("HTTP {status} {code}: {message}{reason}"),
    )
}

/// The portal's codes this module gives advice for, as `'static` strings.
fn known_code(code: &str) -> Option<&'static str> {
    KNOWN_CODES.iter().copied().find(|known| *known == code)
}

/// Codes the portal answers with that `dcc doctor` explains.
const KNOWN_CODES: [&str; 12] = [
    "wrong_certificate_profile",
    "profession_not_allowed",
    "pharmacy_not_registered",
    "pharmacy_suspended",
    "no_client_certificate",
    "issuance_locked",
    "invalid_fields",
    "unreadable_json",
    "overloaded",
    "store_unavailable",
    "signer_unavailable",
    "random_unavailable",
];

fn transport(error: reqwest::Error) -> Failure {
    Failure::new(
        "connection_lost",
        format!("the request to the portal failed: {error}"),
    )
}

/// A synthetic vaccination for the dry run: no real person, nothing is issued.
fn sample_request() -> Value {
    json!({
        "nam": {"fn": "Doctor", "gn": "Dry Run"},
        "dob": "1970-01-01",
        "v": [{"tg": "840539006", "vp": "1119349007", "mp": "EU/1/20/1528",
               "ma": "ORG-100030215", "dn": 1, "sd": 2, "dt": "2021-06-01"}]
    })
}
