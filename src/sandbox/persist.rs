//! Crash-safe JSON persistence shared by the sandboxes.
//!
//! Writes go to a temporary file that is fsynced, renamed over the target, and the directory
//! fsynced, so a crash leaves either the old or the new document, never a torn one. A file
//! that exists but cannot be read is an error, never silently replaced by an empty state.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Why a state document could not be loaded or saved.
#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    /// Filesystem failure.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// Which file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The file exists but is not a document this version understands.
    #[error("{path} is not a valid sandbox state file: {reason}")]
    Corrupt {
        /// Which file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> PersistError {
    let path = path.to_path_buf();
    move |source| PersistError::Io {
        action,
        path,
        source,
    }
}

/// Reads `path` as JSON; `None` when the file does not exist.
pub fn load_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, PersistError> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io("read", path)(e)),
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| PersistError::Corrupt {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
}

/// Atomically replaces `dir/file` with `value` as pretty JSON (creating `dir` if needed).
pub fn save_json<T: Serialize>(dir: &Path, file: &str, value: &T) -> Result<(), PersistError> {
    fs::create_dir_all(dir).map_err(io("create directory", dir))?;
    let path = dir.join(file);
    let tmp = dir.join(format!("{file}.tmp"));
    let text = serde_json::to_vec_pretty(value).map_err(|e| PersistError::Corrupt {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    let mut f = File::create(&tmp).map_err(io("create", &tmp))?;
    f.write_all(&text).map_err(io("write", &tmp))?;
    f.sync_all().map_err(io("fsync", &tmp))?;
    drop(f);
    fs::rename(&tmp, &path).map_err(io("rename", &path))?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io("fsync directory", dir))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn round_trip_without_leftovers_and_corrupt_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.json");
        assert_eq!(
            load_json::<BTreeMap<String, u32>>(&path).expect("none"),
            None
        );
        let value = BTreeMap::from([("a".to_string(), 1u32)]);
        save_json(dir.path(), "s.json", &value).expect("save");
        assert_eq!(load_json(&path).expect("load"), Some(value));
        let names: Vec<_> = fs::read_dir(dir.path())
            .expect("read_dir")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, ["s.json"]);
        fs::write(&path, b"{oops").expect("write");
        let err = load_json::<BTreeMap<String, u32>>(&path).expect_err("corrupt");
        assert!(matches!(err, PersistError::Corrupt { .. }), "{err}");
        assert_eq!(fs::read(&path).expect("read"), b"{oops");
    }
}
