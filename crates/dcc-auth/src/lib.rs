//! `dcc-auth`: the rules of operator authentication, pure and I/O-free.
//!
//! Who may do what at the pharmacy counter ([`role`]), how passwords are kept ([`password`],
//! argon2id), the second factor ([`totp`], RFC 6238 with replay protection), when repeated
//! failures lock an account ([`lockout`]) and how long sessions live ([`session`]). Time and
//! randomness arrive as parameters; storing accounts and sessions is `dcc-store`'s job, the use
//! cases are in `dcc-issuance::operators`.

pub mod base32;
pub mod lockout;
pub mod password;
pub mod role;
pub mod session;
pub mod totp;
