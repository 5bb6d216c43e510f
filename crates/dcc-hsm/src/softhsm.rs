//! SoftHSM2 tokens in a private folder, for tests and development set-ups: a
//! `softhsm2.conf` whose token directory is a folder of the caller's, and `softhsm2-util`
//! to initialise tokens in it. The module reads the file named by `SOFTHSM2_CONF` when it is
//! initialised, once per process.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Where Debian's `softhsm2` package installs the module.
pub const DEFAULT_MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";

/// Why a SoftHSM2 token could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SoftHsmError {
    /// A file or folder could not be written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// `softhsm2-util` or the module is missing.
    #[error(
        "SoftHSM2 is not installed ({0}); install the Debian package softhsm2 (scripts/test.sh does)"
    )]
    NotInstalled(String),
    /// `softhsm2-util --init-token` failed.
    #[error("softhsm2-util --init-token failed: {0}")]
    InitToken(String),
}

/// The PKCS#11 module path: `DCC_PKCS11_MODULE`, or [`DEFAULT_MODULE`].
pub fn module_path() -> PathBuf {
    std::env::var_os("DCC_PKCS11_MODULE")
        .map_or_else(|| PathBuf::from(DEFAULT_MODULE), PathBuf::from)
}

/// Writes `dir/softhsm2.conf` with the token folder `dir/tokens`; returns the file's path
/// (the value for `SOFTHSM2_CONF`).
pub fn write_conf(dir: &Path) -> Result<PathBuf, SoftHsmError> {
    let tokens = dir.join("tokens");
    std::fs::create_dir_all(&tokens).map_err(|source| SoftHsmError::Io {
        path: tokens.clone(),
        source,
    })?;
    let conf = dir.join("softhsm2.conf");
    let text = format!(
        "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n",
        tokens.display()
    );
    std::fs::write(&conf, text).map_err(|source| SoftHsmError::Io {
        path: conf.clone(),
        source,
    })?;
    Ok(conf)
}

/// Initialises a token labelled `label` in the free slot of the configuration `conf`.
pub fn init_token(conf: &Path, label: &str, so_pin: &str, pin: &str) -> Result<(), SoftHsmError> {
    if !module_path().exists() {
        return Err(SoftHsmError::NotInstalled(format!(
            "{} is missing",
            module_path().display()
        )));
    }
    let output = Command::new("softhsm2-util")
        .args(["--init-token", "--free", "--label", label])
        .args(["--so-pin", so_pin, "--pin", pin])
        .env("SOFTHSM2_CONF", conf)
        .output()
        .map_err(|error| SoftHsmError::NotInstalled(format!("softhsm2-util: {error}")))?;
    if !output.status.success() {
        return Err(SoftHsmError::InitToken(
            String::from_utf8_lossy(&output.stderr).into_owned(),
        ));
    }
    Ok(())
}
