//! Ed25519 signatures of `manifest.json`. The manifest lists the SHA-256 of every file of a
//! run, so signing its exact bytes signs the run. A signed run holds, beside the manifest:
//!
//! - `manifest.json.sig`: the 64-byte signature, base64 (standard alphabet, padded), one line;
//! - `manifest.pub.pem`: the public key (SPKI PEM), so anyone can check the signature. A key
//!   read from the same folder only proves the files were not changed by accident; to prove
//!   more, verify with a copy of the public key obtained independently.
//!
//! Signing keys come from a PKCS#8 PEM file (`openssl genpkey -algorithm ed25519 -out key.pem`)
//! or an environment variable holding the PEM, or the 32-byte seed as hex or base64. Key
//! material never appears in errors or logs.

use crate::error::{Error, Result};
use crate::hashing::sha256_hex;
use crate::render::OutputFile;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePublicKey};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

/// The signature of `manifest.json`, beside it.
pub const SIGNATURE_FILE: &str = "manifest.json.sig";
/// The public key published beside the manifest.
pub const PUBLIC_KEY_FILE: &str = "manifest.pub.pem";
/// Environment variable read by `--signing-key env:` with no name.
pub const SIGNING_KEY_ENV: &str = "DEFENDER_LEDGER_SIGNING_KEY";

/// Load a signing key named the way `--signing-key` takes it: `env:NAME` reads environment
/// variable NAME (`env:` alone reads `DEFENDER_LEDGER_SIGNING_KEY`); anything else is a file.
/// The value (file or variable) may be a PKCS#8 PEM, or the 32-byte seed as hex or base64.
pub fn load_signing_key(spec: &str) -> Result<SigningKey> {
    if let Some(var) = spec.strip_prefix("env:") {
        let var = if var.is_empty() { SIGNING_KEY_ENV } else { var };
        let text = std::env::var(var).map_err(|_| {
            Error::config(format!(
                "--signing-key env:{var}: the environment variable is not set"
            ))
        })?;
        return signing_key_from_text(&text, &format!("environment variable {var}"));
    }
    let text = std::fs::read_to_string(spec)
        .map_err(|e| Error::config(format!("--signing-key {spec}: {e}")))?;
    signing_key_from_text(&text, spec)
}

/// Parse a signing key from PEM (PKCS#8 `PRIVATE KEY`), hex seed, or base64 (seed or PKCS#8
/// DER). `origin` names where it came from; the key itself is never echoed.
pub fn signing_key_from_text(text: &str, origin: &str) -> Result<SigningKey> {
    let t = text.trim();
    let bad = |why: &str| {
        Error::config(format!(
            "signing key from {origin}: {why} (expected a PKCS#8 PEM Ed25519 private key, \
             e.g. from `openssl genpkey -algorithm ed25519`, or a 32-byte seed as hex or base64)"
        ))
    };
    if t.contains("-----BEGIN") {
        if t.contains("PUBLIC KEY") {
            return Err(bad("this is a public key"));
        }
        return SigningKey::from_pkcs8_pem(t).map_err(|_| bad("not a readable PKCS#8 PEM"));
    }
    if let Some(seed) = hex_32(t) {
        return Ok(SigningKey::from_bytes(&seed));
    }
    let bytes = B64
        .decode(t)
        .map_err(|_| bad("neither PEM, hex nor base64"))?;
    if let Ok(seed) = <[u8; 32]>::try_from(bytes.as_slice()) {
        return Ok(SigningKey::from_bytes(&seed));
    }
    SigningKey::from_pkcs8_der(&bytes).map_err(|_| bad("base64 is neither a seed nor PKCS#8"))
}

/// Load a public key from a file (SPKI PEM `PUBLIC KEY`, or 32 bytes as hex or base64).
pub fn load_public_key(path: &str) -> Result<VerifyingKey> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::config(format!("public key {path}: {e}")))?;
    public_key_from_text(&text, path)
}

/// Parse a public key from SPKI PEM, hex or base64 (raw 32 bytes or SPKI DER).
pub fn public_key_from_text(text: &str, origin: &str) -> Result<VerifyingKey> {
    let t = text.trim();
    let bad = |why: &str| {
        Error::config(format!(
            "public key from {origin}: {why} (expected an Ed25519 SPKI PEM `PUBLIC KEY`, or 32 bytes as hex or base64)"
        ))
    };
    if t.contains("-----BEGIN") {
        if t.contains("PRIVATE KEY") {
            return Err(bad("this is a private key; pass the public key"));
        }
        return VerifyingKey::from_public_key_pem(t).map_err(|_| bad("not a readable SPKI PEM"));
    }
    let bytes = match hex_32(t) {
        Some(b) => b.to_vec(),
        None => B64
            .decode(t)
            .map_err(|_| bad("neither PEM, hex nor base64"))?,
    };
    if let Ok(raw) = <[u8; 32]>::try_from(bytes.as_slice()) {
        return VerifyingKey::from_bytes(&raw).map_err(|_| bad("not a valid Ed25519 point"));
    }
    VerifyingKey::from_public_key_der(&bytes).map_err(|_| bad("not an Ed25519 SPKI key"))
}

fn hex_32(t: &str) -> Option<[u8; 32]> {
    if t.len() != 64 {
        return None;
    }
    hex::decode(t).ok()?.try_into().ok()
}

/// The public key as SPKI PEM (`-----BEGIN PUBLIC KEY-----`), LF line endings.
pub fn public_key_pem(key: &VerifyingKey) -> String {
    key.to_public_key_pem(LineEnding::LF)
        .expect("an Ed25519 public key encodes as SPKI PEM")
}

/// SHA-256 (hex) of the 32 raw public-key bytes: how reports name a key.
pub fn fingerprint(key: &VerifyingKey) -> String {
    sha256_hex(key.as_bytes())
}

/// The signature of `manifest` as the text of `manifest.json.sig`: base64 and a newline.
pub fn sign(key: &SigningKey, manifest: &[u8]) -> String {
    format!("{}\n", B64.encode(key.sign(manifest).to_bytes()))
}

/// The two files that sign a run, to publish beside `manifest.json` (paths relative to the
/// run folder). They are not listed in the manifest, which they sign; publish them before the
/// manifest so that the manifest stays the last write (the commit) of the run.
pub fn signature_files(key: &SigningKey, manifest: &[u8]) -> Vec<OutputFile> {
    vec![
        OutputFile::new(SIGNATURE_FILE, sign(key, manifest).into_bytes(), None),
        OutputFile::new(
            PUBLIC_KEY_FILE,
            public_key_pem(&key.verifying_key()).into_bytes(),
            None,
        ),
    ]
}

/// Check `signature_text` (the content of `manifest.json.sig`) over `manifest`.
pub fn verify(
    key: &VerifyingKey,
    manifest: &[u8],
    signature_text: &str,
) -> std::result::Result<(), String> {
    let bytes = B64
        .decode(signature_text.trim())
        .map_err(|_| format!("{SIGNATURE_FILE} is not base64"))?;
    let sig = Signature::from_slice(&bytes)
        .map_err(|_| format!("{SIGNATURE_FILE} does not hold a 64-byte Ed25519 signature"))?;
    key.verify_strict(manifest, &sig).map_err(|_| {
        format!(
            "the signature does not match manifest.json under public key {}",
            fingerprint(key)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A throwaway key made with `openssl genpkey -algorithm ed25519`.
    const OPENSSL_PEM: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIErHNMGhRTPxn7WB6TpteH34PdgGT/n+uU9hUrcl7Qhw\n-----END PRIVATE KEY-----\n";

    #[test]
    fn keys_load_from_pem_hex_and_base64_alike() {
        let pem = signing_key_from_text(OPENSSL_PEM, "test").unwrap();
        let seed = pem.to_bytes();
        let hex_key = signing_key_from_text(&hex::encode(seed), "test").unwrap();
        let b64_key = signing_key_from_text(&B64.encode(seed), "test").unwrap();
        assert_eq!(hex_key.to_bytes(), seed);
        assert_eq!(b64_key.to_bytes(), seed);
        let public = public_key_from_text(&public_key_pem(&pem.verifying_key()), "t").unwrap();
        assert_eq!(public, pem.verifying_key());
        let err = signing_key_from_text("not a key", "somewhere")
            .unwrap_err()
            .to_string();
        assert!(err.contains("somewhere"), "{err}");
        assert!(
            signing_key_from_text(&public_key_pem(&public), "t").is_err(),
            "a public key is not a signing key"
        );
    }

    #[test]
    fn sign_then_verify_and_reject_changes() {
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let sig = sign(&key, b"manifest");
        assert!(sig.ends_with('\n'));
        verify(&key.verifying_key(), b"manifest", &sig).unwrap();
        assert!(verify(&key.verifying_key(), b"manifesT", &sig).is_err());
        let other = SigningKey::from_bytes(&[8u8; 32]).verifying_key();
        assert!(verify(&other, b"manifest", &sig).is_err());
        assert!(verify(&key.verifying_key(), b"manifest", "!!").is_err());
    }
}
