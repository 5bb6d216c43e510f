//! `dcc-server`: the pharmacy portal and the certificate server, axum over mutual TLS.
//!
//! The TLS layer ([`tls`]) emulates the health network (TI): only clients with an institution
//! certificate that chains to the configured CA get through, and each connection's identity
//! is parsed once and handed to the handlers as a typed value. The certificate server can run
//! in the portal's process or as a service of its own ([`signer_service`]), which the portal
//! reaches over mutual TLS with its service identity ([`remote_signer`]). The association's
//! administrators use a listener of their own in the portal's process ([`admin_api`]).

pub mod admin_alerts;
pub mod admin_api;
pub mod admin_audit;
pub mod admin_session;
pub mod admin_ui;
pub mod billing_api;
pub mod billing_close;
pub mod circuit_breaker;
pub mod clock;
pub mod config;
pub mod doctor;
pub mod error;
pub mod health;
pub mod identity;
pub mod key_loader;
pub mod key_registry;
pub mod measured_signer;
pub mod metrics;
pub mod operator_session;
pub mod portal;
pub mod remote_signer;
pub mod request_id;
pub mod revocation_api;
pub mod server;
pub mod signer_service;
pub mod tls;
pub mod trust_list;
pub mod ui;
