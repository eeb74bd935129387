//! Running the kustoplan binary against a built-in sandbox directory, and editing a copy of the
//! gameplay example: what the CLI scenario tests share.

use std::path::Path;
use std::process::Command;

/// One finished run of the binary.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs kustoplan with the built-in sandbox in `sandbox`, without colours or an environment
/// from the caller's shell.
pub fn kustoplan(sandbox: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_kustoplan"))
        .args(args)
        .env("KUSTOPLAN_SANDBOX_DIR", sandbox)
        .env("NO_COLOR", "1")
        .env_remove("KUSTOPLAN_ENV")
        .output()
        .expect("run kustoplan");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A copy of the gameplay example that a test may edit.
pub fn gameplay_copy() -> tempfile::TempDir {
    let stack = tempfile::tempdir().expect("tempdir");
    for f in ["stack.yaml", "kusto.yaml", "kafka.yaml"] {
        std::fs::copy(Path::new("examples/gameplay").join(f), stack.path().join(f)).expect("copy");
    }
    stack
}

/// Replaces `from` (which must be there) with `to` in `dir/file`.
pub fn edit(dir: &Path, file: &str, from: &str, to: &str) {
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).expect("read");
    assert!(text.contains(from), "{from} not in {file}");
    std::fs::write(&path, text.replace(from, to)).expect("write");
}
