//! Node packages a conformance test pins in its own `package.json` (Microsoft's Kusto parser,
//! Ajv), installed on demand into that directory's `node_modules` (gitignored).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use serde_json::Value;

/// The `version` field of a package.json, if readable.
fn package_version(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let json: Value = serde_json::from_str(&text).ok()?;
    Some(json["version"].as_str()?.to_string())
}

/// Whether `dir/node_modules` holds every dependency at exactly the version
/// `dir/package.json` pins.
fn pinned_packages_installed(dir: &Path) -> bool {
    let manifest: Value = std::fs::read_to_string(dir.join("package.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_else(|| panic!("{}/package.json is missing or not JSON", dir.display()));
    let Some(deps) = manifest["dependencies"].as_object() else {
        return true;
    };
    deps.iter().all(|(name, pinned)| {
        let installed = package_version(&dir.join("node_modules").join(name).join("package.json"));
        pinned
            .as_str()
            .is_some_and(|p| installed.as_deref() == Some(p))
    })
}

/// Node plus the packages `dir/package.json` pins: `npm ci` runs (once per directory and test
/// binary) when one is missing or of another version. `false` when the test should skip: no
/// Node outside CI.
pub fn pinned_packages(dir: &Path, test: &str) -> bool {
    if !super::tool_available("node", test) {
        return false;
    }
    static READY: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());
    let mut ready = READY
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if ready.contains(dir) {
        return true;
    }
    if !pinned_packages_installed(dir) {
        assert!(
            super::tool_available("npm", test),
            "{test}: node is installed but npm is not; run scripts/dev-setup"
        );
        super::run_ok(
            Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--prefix"])
                .arg(dir),
        );
    }
    ready.insert(dir.to_path_buf());
    true
}
