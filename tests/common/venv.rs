//! Python tools pinned by a requirements file, installed once into a venv next to the build
//! outputs (`<target>/NAME`): `cargo clean` removes it and CI's cached target directory keeps it.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The venv `<target>/name` with `requirements` installed (created or refreshed when missing or
/// when the requirements changed); `None` when the test should skip (outside CI only: in CI a
/// missing python3 or venv module fails the test).
pub fn with_requirements(name: &str, requirements: &Path, test: &str) -> Option<PathBuf> {
    if !super::tool_available("python3", test) {
        return None;
    }
    let has_venv = super::run(Command::new("python3").args(["-c", "import venv, ensurepip"]))
        .status
        .success();
    if !has_venv {
        assert!(
            !super::in_ci(),
            "{test}: python3 has no venv/ensurepip module in CI; run scripts/dev-setup"
        );
        super::skip_loudly(&format!(
            "SKIPPED {test}: python3-venv is not installed (scripts/dev-setup installs it)"
        ));
        return None;
    }
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let venv = tmp.parent().unwrap_or(tmp).join(name);
    let python = venv.join("bin").join("python");
    let wanted = std::fs::read_to_string(requirements)
        .unwrap_or_else(|e| panic!("{}: {e}", requirements.display()));
    let stamp = venv.join("kustoplan-requirements.txt");
    if std::fs::read_to_string(&stamp).ok().as_deref() != Some(wanted.as_str()) || !python.exists()
    {
        super::run_ok(Command::new("python3").args(["-m", "venv"]).arg(&venv));
        super::run_ok(
            Command::new(&python)
                .args(["-m", "pip", "install", "--quiet", "-r"])
                .arg(requirements),
        );
        std::fs::write(&stamp, wanted).expect("write stamp");
    }
    Some(venv)
}
