//! Crash-safe persistence of [`SandboxState`] as `DIR/kusto-state.json`.
//!
//! Written after every successful mutating command through [`crate::sandbox::persist`]
//! (write-temp, fsync, rename, fsync-dir), so a crash leaves either the old or the new file,
//! never a torn one. A file that exists but cannot be read is an error, never silently
//! replaced by an empty state.

use std::fs;
use std::path::{Path, PathBuf};

use super::state::{STATE_FORMAT, SandboxState};
use crate::sandbox::persist;

/// File name of the state document inside the sandbox directory.
pub const STATE_FILE: &str = "kusto-state.json";

/// Why the state could not be loaded or saved (shared with the other sandboxes).
pub use crate::sandbox::persist::PersistError as StoreError;

/// The on-disk location of one sandbox's state.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

impl Store {
    /// A store in `dir` (created if missing).
    pub fn new(dir: &Path) -> Result<Self, StoreError> {
        fs::create_dir_all(dir).map_err(|source| StoreError::Io {
            action: "create directory",
            path: dir.to_path_buf(),
            source,
        })?;
        Ok(Store {
            dir: dir.to_path_buf(),
        })
    }

    /// Path of the state file.
    pub fn path(&self) -> PathBuf {
        self.dir.join(STATE_FILE)
    }

    /// Loads the state, or `None` if no state file exists yet.
    pub fn load(&self) -> Result<Option<SandboxState>, StoreError> {
        let path = self.path();
        let Some(state) = persist::load_json::<SandboxState>(&path)? else {
            return Ok(None);
        };
        if state.format != STATE_FORMAT {
            return Err(StoreError::Corrupt {
                path,
                reason: format!(
                    "format {} is not supported (expected {STATE_FORMAT})",
                    state.format
                ),
            });
        }
        Ok(Some(state))
    }

    /// Atomically replaces the state file.
    pub fn save(&self, state: &SandboxState) -> Result<(), StoreError> {
        persist::save_json(&self.dir, STATE_FILE, state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::kusto::state::Database;

    #[test]
    fn save_then_load_round_trips_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::new(dir.path()).expect("store");
        assert!(store.load().expect("load empty").is_none());
        let mut state = SandboxState::default();
        state.databases.insert(
            "db".into(),
            Database::new("00000000-0000-0000-0000-000000000001".into()),
        );
        store.save(&state).expect("save");
        assert_eq!(store.load().expect("load"), Some(state));
        let names: Vec<_> = fs::read_dir(dir.path())
            .expect("read_dir")
            .map(|e| e.expect("entry").file_name().into_string().expect("utf8"))
            .collect();
        assert_eq!(names, [STATE_FILE]);
    }

    #[test]
    fn corrupt_file_is_an_error_not_an_empty_state() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(dir.path().join(STATE_FILE), b"{not json").expect("write");
        let store = Store::new(dir.path()).expect("store");
        let err = store.load().expect_err("corrupt");
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
        // The bad file is left alone for the operator to inspect.
        assert_eq!(
            fs::read(dir.path().join(STATE_FILE)).expect("read"),
            b"{not json"
        );
    }
}
