//! `verify <run>`: re-hash every file a run's `manifest.json` lists and check the manifest's
//! signature. Names every file changed, missing, or present but not listed; the run passes only
//! when all three lists are empty and the signature (when there is one, or when a key is
//! given) is valid.

use crate::error::{Error, Result};
use crate::hashing::sha256_hex;
use crate::render::manifest::MANIFEST;
use crate::render::signing::{self, PUBLIC_KEY_FILE, SIGNATURE_FILE};
use crate::store::Store;
use ed25519_dalek::VerifyingKey;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeSet;
use std::fmt;

/// Where the public key that checked the signature came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyOrigin {
    /// Given by the caller (`--public-key`): proves the manifest was signed by that key.
    Given,
    /// Read from `manifest.pub.pem` in the run itself: proves only that nothing changed by
    /// accident, since whoever can rewrite the run can replace the key too.
    Published,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum SignatureCheck {
    /// No signature and no key asked for one.
    Unsigned,
    /// A public key was given but the run has no `manifest.json.sig`.
    MissingSignature,
    /// A signature but no public key to check it with (none given, none published).
    NoKey,
    Valid {
        key_origin: KeyOrigin,
        fingerprint: String,
    },
    Invalid {
        key_origin: KeyOrigin,
        fingerprint: String,
        reason: String,
    },
}

impl SignatureCheck {
    pub fn is_ok(&self) -> bool {
        matches!(
            self,
            SignatureCheck::Unsigned | SignatureCheck::Valid { .. }
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangedFile {
    pub path: String,
    pub expected_sha256: String,
    pub actual_sha256: String,
    pub expected_bytes: u64,
    pub actual_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VerifyReport {
    /// The run checked, as displayed (secrets removed).
    pub run: String,
    pub run_id: Option<String>,
    pub period: Option<String>,
    /// SHA-256 of `manifest.json` as found.
    pub manifest_sha256: String,
    /// Files the manifest lists.
    pub files_listed: usize,
    pub files_ok: usize,
    pub changed: Vec<ChangedFile>,
    pub missing: Vec<String>,
    /// Files in the run folder the manifest does not list (signature files excepted).
    pub added: Vec<String>,
    pub signature: SignatureCheck,
    pub warnings: Vec<String>,
}

impl VerifyReport {
    /// No file changed, missing or added, and the signature (if any is expected) is valid.
    pub fn is_ok(&self) -> bool {
        self.changed.is_empty()
            && self.missing.is_empty()
            && self.added.is_empty()
            && self.signature.is_ok()
    }

    /// 0 when `is_ok`, else 1 (a run that does not verify is a finding, not a crash).
    pub fn exit_code(&self) -> i32 {
        if self.is_ok() { 0 } else { 1 }
    }

    /// Every problem in one line, e.g. "1 changed, 1 missing, signature invalid".
    pub fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        if !self.changed.is_empty() {
            p.push(format!("{} changed", self.changed.len()));
        }
        if !self.missing.is_empty() {
            p.push(format!("{} missing", self.missing.len()));
        }
        if !self.added.is_empty() {
            p.push(format!("{} added", self.added.len()));
        }
        match &self.signature {
            SignatureCheck::Invalid { .. } => p.push("signature invalid".into()),
            SignatureCheck::MissingSignature => p.push("signature missing".into()),
            SignatureCheck::NoKey => p.push("signature not checkable".into()),
            _ => {}
        }
        p
    }
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "verify {}", self.run)?;
        if let (Some(r), Some(p)) = (&self.run_id, &self.period) {
            write!(f, " (run {r}, period {p})")?;
        }
        writeln!(f)?;
        writeln!(f, "  {MANIFEST} sha256 {}", self.manifest_sha256)?;
        writeln!(
            f,
            "  {} files listed, {} match",
            self.files_listed, self.files_ok
        )?;
        for c in &self.changed {
            writeln!(
                f,
                "  CHANGED  {}: sha256 {} expected, {} found ({} bytes expected, {} found)",
                c.path, c.expected_sha256, c.actual_sha256, c.expected_bytes, c.actual_bytes
            )?;
        }
        for m in &self.missing {
            writeln!(f, "  MISSING  {m}")?;
        }
        for a in &self.added {
            writeln!(f, "  ADDED    {a} (not listed in {MANIFEST})")?;
        }
        let sig = match &self.signature {
            SignatureCheck::Unsigned => "not signed".to_string(),
            SignatureCheck::MissingSignature => {
                format!("MISSING: a public key was given but there is no {SIGNATURE_FILE}")
            }
            SignatureCheck::NoKey => format!(
                "NOT CHECKED: {SIGNATURE_FILE} present but no public key (none given, no {PUBLIC_KEY_FILE})"
            ),
            SignatureCheck::Valid {
                key_origin,
                fingerprint,
            } => format!(
                "valid, public key sha256 {fingerprint} ({})",
                origin(*key_origin)
            ),
            SignatureCheck::Invalid {
                key_origin,
                fingerprint,
                reason,
            } => format!(
                "INVALID: {reason} (public key sha256 {fingerprint}, {})",
                origin(*key_origin)
            ),
        };
        writeln!(f, "  signature: {sig}")?;
        for w in &self.warnings {
            writeln!(f, "  warning: {w}")?;
        }
        if self.is_ok() {
            write!(f, "  result: OK")
        } else {
            write!(f, "  result: FAILED ({})", self.problems().join(", "))
        }
    }
}

fn origin(o: KeyOrigin) -> &'static str {
    match o {
        KeyOrigin::Given => "given",
        KeyOrigin::Published => "published beside the manifest",
    }
}

/// Open `location` (a run folder or a blob URL of one; a trailing `/manifest.json` is
/// accepted) and verify it.
pub fn verify_location(location: &str, public_key: Option<&VerifyingKey>) -> Result<VerifyReport> {
    let loc = location
        .trim_end_matches('/')
        .strip_suffix(&format!("/{MANIFEST}"))
        .unwrap_or(location.trim_end_matches('/'));
    let store = Store::open(loc, false)?;
    verify_run(&store, "", public_key)
}

fn join(prefix: &str, rel: &str) -> String {
    let p = prefix.trim_matches('/');
    if p.is_empty() {
        rel.to_string()
    } else {
        format!("{p}/{rel}")
    }
}

/// The run as the user gave it: the store's location (an absolute path keeps its leading
/// slash) with the run's prefix inside it.
fn run_label(location: &str, run_prefix: &str) -> String {
    let location = location.trim_end_matches('/');
    let prefix = run_prefix.trim_matches('/');
    match (location.is_empty(), prefix.is_empty()) {
        (_, true) => location.to_string(),
        (true, false) => prefix.to_string(),
        (false, false) => format!("{location}/{prefix}"),
    }
}

/// Verify the run at `run_prefix` inside `store` (`""` when the store is the run folder).
/// With `public_key`, the run must be signed by it; without, a signature is checked against
/// the published `manifest.pub.pem` (with a warning about what that proves).
pub fn verify_run(
    store: &Store,
    run_prefix: &str,
    public_key: Option<&VerifyingKey>,
) -> Result<VerifyReport> {
    let run = run_label(store.display(), run_prefix);
    let (manifest_bytes, manifest) = read_manifest(store, run_prefix, &run)?;
    let mut files = check_listed_files(store, run_prefix, &run, &manifest)?;
    let added = unlisted_files(store, run_prefix, &files.listed)?;
    let signature = check_signature(
        store,
        run_prefix,
        &manifest_bytes,
        public_key,
        &mut files.warnings,
    )?;
    let text = |k: &str| manifest.get(k).and_then(Value::as_str).map(String::from);
    Ok(VerifyReport {
        run,
        run_id: text("run_id"),
        period: text("period"),
        manifest_sha256: sha256_hex(&manifest_bytes),
        files_listed: files.listed.len(),
        files_ok: files.ok,
        changed: files.changed,
        missing: files.missing,
        added,
        signature,
        warnings: files.warnings,
    })
}

/// The run's `manifest.json`, as bytes (for its hash and signature) and parsed.
fn read_manifest(store: &Store, run_prefix: &str, run: &str) -> Result<(bytes::Bytes, Value)> {
    let Some(bytes) = store.get_opt(&join(run_prefix, MANIFEST))? else {
        return Err(Error::input(
            run,
            format!("no {MANIFEST}: not a committed run (or not a run folder)"),
        ));
    };
    let manifest: Value = serde_json::from_slice(&bytes)
        .map_err(|e| Error::input(format!("{run}/{MANIFEST}"), format!("not JSON: {e}")))?;
    Ok((bytes, manifest))
}

/// What re-hashing the files a manifest lists found.
#[derive(Default)]
struct ListedFiles {
    listed: BTreeSet<String>,
    ok: usize,
    changed: Vec<ChangedFile>,
    missing: Vec<String>,
    warnings: Vec<String>,
}

/// Re-hash every file the manifest lists: each matches, changed, or missing.
fn check_listed_files(
    store: &Store,
    run_prefix: &str,
    run: &str,
    manifest: &Value,
) -> Result<ListedFiles> {
    let bad = |m: String| Error::input(format!("{run}/{MANIFEST}"), m);
    let entries = manifest
        .get("files")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("no `files` list".into()))?;
    let mut found = ListedFiles::default();
    for (i, e) in entries.iter().enumerate() {
        let field = |k: &str| e.get(k).and_then(Value::as_str).map(String::from);
        let (Some(path), Some(sha)) = (field("path"), field("sha256")) else {
            return Err(bad(format!("files[{i}] lacks path or sha256")));
        };
        let expected_bytes = e.get("bytes").and_then(Value::as_u64).unwrap_or(0);
        if path.split('/').any(|s| s == ".." || s.is_empty()) {
            return Err(bad(format!(
                "files[{i}]: path {path:?} is not a plain relative path"
            )));
        }
        if !found.listed.insert(path.clone()) {
            found
                .warnings
                .push(format!("{path} is listed twice in {MANIFEST}"));
            continue;
        }
        let Some(bytes) = store.get_opt(&join(run_prefix, &path))? else {
            found.missing.push(path);
            continue;
        };
        let actual = sha256_hex(&bytes);
        if actual.eq_ignore_ascii_case(&sha) && bytes.len() as u64 == expected_bytes {
            found.ok += 1;
        } else {
            found.changed.push(ChangedFile {
                path,
                expected_sha256: sha,
                actual_sha256: actual,
                expected_bytes,
                actual_bytes: bytes.len() as u64,
            });
        }
    }
    Ok(found)
}

/// Files in the run folder that the manifest does not list (the manifest and its signature
/// files excepted).
fn unlisted_files(
    store: &Store,
    run_prefix: &str,
    listed: &BTreeSet<String>,
) -> Result<Vec<String>> {
    let unlisted_ok: BTreeSet<&str> = [MANIFEST, SIGNATURE_FILE, PUBLIC_KEY_FILE].into();
    let base = run_prefix.trim_matches('/');
    let mut added = Vec::new();
    for entry in store.list(base)? {
        let rel = if base.is_empty() {
            entry.path.as_str()
        } else {
            match entry
                .path
                .strip_prefix(base)
                .and_then(|r| r.strip_prefix('/'))
            {
                Some(r) => r,
                None => continue,
            }
        };
        if !listed.contains(rel) && !unlisted_ok.contains(rel) {
            added.push(rel.to_string());
        }
    }
    Ok(added)
}

fn check_signature(
    store: &Store,
    run_prefix: &str,
    manifest: &[u8],
    given: Option<&VerifyingKey>,
    warnings: &mut Vec<String>,
) -> Result<SignatureCheck> {
    let sig_path = join(run_prefix, SIGNATURE_FILE);
    let pub_path = join(run_prefix, PUBLIC_KEY_FILE);
    let published = if let Some(bytes) = store.get_opt(&pub_path)? {
        let text = String::from_utf8_lossy(&bytes).into_owned();
        match signing::public_key_from_text(&text, PUBLIC_KEY_FILE) {
            Ok(k) => Some(k),
            Err(e) => {
                warnings.push(format!("{PUBLIC_KEY_FILE} is unreadable: {e}"));
                None
            }
        }
    } else {
        None
    };
    let Some(sig_bytes) = store.get_opt(&sig_path)? else {
        return Ok(match given {
            Some(_) => SignatureCheck::MissingSignature,
            None => {
                warnings.push(format!(
                    "the run is not signed: matching hashes show the files agree with {MANIFEST}, \
                     but whoever can rewrite the folder can rewrite the manifest too"
                ));
                SignatureCheck::Unsigned
            }
        });
    };
    let sig_text = String::from_utf8_lossy(&sig_bytes).into_owned();
    let (key, key_origin) = match (given, published.as_ref()) {
        (Some(k), p) => {
            if let Some(p) = p.filter(|p| *p != k) {
                warnings.push(format!(
                    "{PUBLIC_KEY_FILE} in the run (sha256 {}) is not the key given (sha256 {})",
                    signing::fingerprint(p),
                    signing::fingerprint(k)
                ));
            }
            (k, KeyOrigin::Given)
        }
        (None, Some(p)) => {
            warnings.push(format!(
                "the signature was checked with {PUBLIC_KEY_FILE} from the run itself: a key from \
                 the same place proves integrity only against accidental change; pass the public \
                 key obtained independently (--public-key) to prove who signed"
            ));
            (p, KeyOrigin::Published)
        }
        (None, None) => return Ok(SignatureCheck::NoKey),
    };
    let fingerprint = signing::fingerprint(key);
    Ok(match signing::verify(key, manifest, &sig_text) {
        Ok(()) => SignatureCheck::Valid {
            key_origin,
            fingerprint,
        },
        Err(reason) => SignatureCheck::Invalid {
            key_origin,
            fingerprint,
            reason,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_paths_print_as_given() {
        assert_eq!(run_label("/tmp/out/2026-10/R", ""), "/tmp/out/2026-10/R");
        assert_eq!(run_label("/tmp/out/", "2026-10/R/"), "/tmp/out/2026-10/R");
        assert_eq!(run_label("out", "2026-10/R"), "out/2026-10/R");
    }
}
