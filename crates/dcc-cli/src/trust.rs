//! Loading trusted DSCs from the paths given with `--trust`.

use std::path::Path;

use anyhow::{Context, bail};
use dcc_core::public_key::PublicKey;
use dcc_core::trust_list::TrustList;

/// Builds one trust list from every `--trust` path: a certificate (PEM or DER), a folder of
/// them, an EU gateway trust-list JSON, or a German two-line DSC list (which needs the key
/// that signs it, `--dsc-list-key`).
pub fn load(paths: &[String], dsc_list_key: Option<&str>) -> anyhow::Result<TrustList> {
    let list_key = dsc_list_key
        .map(|path| -> anyhow::Result<PublicKey> {
            let bytes =
                std::fs::read(path).with_context(|| format!("reading the DSC list key {path}"))?;
            PublicKey::from_spki(&bytes)
                .with_context(|| format!("{path} is not a public key (SubjectPublicKeyInfo)"))
        })
        .transpose()?;
    let mut trust = TrustList::new();
    for path in paths {
        let path = Path::new(path);
        if path.is_dir() {
            let mut entries: Vec<_> = std::fs::read_dir(path)
                .with_context(|| format!("reading the folder {}", path.display()))?
                .collect::<Result<_, _>>()
                .with_context(|| format!("reading the folder {}", path.display()))?;
            entries.sort_by_key(std::fs::DirEntry::path);
            let before = trust.len();
            // In a folder only certificate and trust-list files count, so a folder that
            // also holds private keys (such as a data folder's `pki/dcc`) can be named as is.
            for entry in entries {
                let path = entry.path();
                let loadable = path
                    .extension()
                    .and_then(|extension| extension.to_str())
                    .is_some_and(|extension| FOLDER_EXTENSIONS.contains(&extension));
                if path.is_file() && loadable {
                    load_file(&entry.path(), list_key.as_ref(), &mut trust)?;
                }
            }
            if trust.len() == before {
                bail!(
                    "the folder {} holds no certificate to trust",
                    path.display()
                );
            }
        } else {
            load_file(path, list_key.as_ref(), &mut trust)?;
        }
    }
    Ok(trust)
}

fn load_file(
    path: &Path,
    list_key: Option<&PublicKey>,
    trust: &mut TrustList,
) -> anyhow::Result<()> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let context = || format!("loading trusted certificates from {}", path.display());
    let loaded = match classify(&bytes) {
        Format::GatewayJson => TrustList::from_eu_gateway_json(&bytes).with_context(context)?,
        Format::GermanList => {
            let Some(key) = list_key else {
                bail!(
                    "{} looks like a German DSC list; give the key that signs it with --dsc-list-key",
                    path.display()
                );
            };
            TrustList::from_german_dsc_list(&bytes, key).with_context(context)?
        }
        Format::Certificates => TrustList::from_certificates(&bytes).with_context(context)?,
    };
    trust.extend(loaded.iter().cloned());
    Ok(())
}

/// The file endings `--trust FOLDER` loads.
const FOLDER_EXTENSIONS: &[&str] = &["pem", "crt", "cer", "der", "json"];

enum Format {
    GatewayJson,
    GermanList,
    Certificates,
}

fn classify(bytes: &[u8]) -> Format {
    let text = std::str::from_utf8(bytes).unwrap_or("").trim_start();
    if text.starts_with('[') {
        Format::GatewayJson
    } else if text
        .lines()
        .nth(1)
        .is_some_and(|line| line.trim_start().starts_with('{'))
    {
        Format::GermanList
    } else {
        Format::Certificates
    }
}
