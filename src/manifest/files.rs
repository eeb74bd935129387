//! Finding and reading manifest files: directories are searched recursively (following symlinks,
//! but never round a loop), and a file that is not UTF-8 is reported at the first bad byte.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::node::Loc;
use crate::diagnostics::{Diagnostic, SourceMap};

/// The manifest files of `paths` (files, or directories searched recursively for `*.yaml` and
/// `*.yml`, skipping hidden entries), sorted; problems (missing paths, unreadable directories,
/// symlink loops) are added to `problems`.
pub fn collect(paths: &[PathBuf], problems: &mut Vec<Diagnostic>) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut seen = BTreeSet::new();
    for path in paths {
        if path.is_dir() {
            match std::fs::canonicalize(path) {
                Ok(real) => {
                    let mut walk = Walk {
                        files: &mut files,
                        problems,
                        seen: &mut seen,
                        ancestors: vec![real.clone()],
                    };
                    if walk.seen.insert(real) {
                        walk.dir(path);
                    }
                }
                Err(e) => problems.push(cannot_read_dir(path, &e)),
            }
        } else if path.is_file() {
            files.push(path.clone());
        } else {
            problems.push(not_readable(path));
        }
    }
    files.sort();
    files.dedup();
    if files.is_empty() && problems.is_empty() {
        problems.push(
            Diagnostic::global("no manifest files (*.yaml, *.yml) found")
                .hint("pass the directory that holds the stack, e.g. `kustoplan validate examples/gameplay`"),
        );
    }
    files
}

struct Walk<'a> {
    files: &'a mut Vec<PathBuf>,
    problems: &'a mut Vec<Diagnostic>,
    /// Real paths of the directories already searched: one reached twice (two links to it) is
    /// searched once.
    seen: &'a mut BTreeSet<PathBuf>,
    /// Real paths of the directories from the root down to the one being searched.
    ancestors: Vec<PathBuf>,
}

impl Walk<'_> {
    fn dir(&mut self, dir: &Path) {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) => return self.problems.push(cannot_read_dir(dir, &e)),
        };
        let mut paths = Vec::new();
        for entry in entries {
            match entry {
                Ok(entry) => paths.push(entry.path()),
                Err(e) => self.problems.push(cannot_read_dir(dir, &e)),
            }
        }
        paths.sort();
        for path in paths {
            let hidden = path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.'));
            if hidden {
                continue;
            }
            if path.is_dir() {
                self.subdir(&path);
            } else if path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| e == "yaml" || e == "yml")
            {
                self.files.push(path);
            }
        }
    }

    fn subdir(&mut self, path: &Path) {
        let real = match std::fs::canonicalize(path) {
            Ok(real) => real,
            Err(e) => return self.problems.push(cannot_read_dir(path, &e)),
        };
        if self.ancestors.contains(&real) {
            self.problems.push(
                Diagnostic::global(format!(
                    "symlink loop: {} leads back to {}, which contains it",
                    path.display(),
                    real.display()
                ))
                .hint("remove the link, or pass the directories to read one by one"),
            );
            return;
        }
        if !self.seen.insert(real.clone()) {
            return;
        }
        self.ancestors.push(real);
        self.dir(path);
        self.ancestors.pop();
    }
}

/// Why a path given on the command line is neither a file nor a directory to read.
fn not_readable(path: &Path) -> Diagnostic {
    match (std::fs::symlink_metadata(path), std::fs::metadata(path)) {
        // A link that leads nowhere, or round a loop.
        (Ok(_), Err(e)) => Diagnostic::global(format!("cannot read {}: {e}", path.display()))
            .hint("check where the link leads"),
        (Ok(_), Ok(_)) => Diagnostic::global(format!(
            "{} is neither a file nor a directory",
            path.display()
        ))
        .hint("pass manifest files or directories that contain them"),
        (Err(_), _) => Diagnostic::global(format!("{} does not exist", path.display()))
            .hint("pass manifest files or directories that contain them"),
    }
}

fn cannot_read_dir(dir: &Path, e: &std::io::Error) -> Diagnostic {
    Diagnostic::global(format!("cannot read directory {}: {e}", dir.display()))
        .hint("check the path and its permissions")
}

/// Reads one manifest into `sources` and returns its index. A file that is not UTF-8 is still
/// registered (with the bad bytes shown as U+FFFD) and reported at its first bad byte.
pub fn read(file: &Path, sources: &mut SourceMap) -> Result<u32, Diagnostic> {
    let bytes = std::fs::read(file).map_err(|e| {
        Diagnostic::global(format!("cannot read {}: {e}", file.display()))
            .hint("check the path and its permissions")
    })?;
    match String::from_utf8(bytes) {
        Ok(text) => Ok(sources.add(file.to_path_buf(), text)),
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let bytes = e.into_bytes();
            let prefix = String::from_utf8_lossy(&bytes[..valid]);
            let line = prefix.matches('\n').count() + 1;
            let column = prefix.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            let bad = bytes.get(valid).copied().unwrap_or_default();
            let id = sources.add(
                file.to_path_buf(),
                String::from_utf8_lossy(&bytes).into_owned(),
            );
            let loc = Loc {
                file: id,
                line: u32::try_from(line).unwrap_or(u32::MAX),
                column: u32::try_from(column).unwrap_or(u32::MAX),
            };
            Err(Diagnostic::at(
                loc,
                format!("not UTF-8: byte 0x{bad:02X} at line {line}, column {column} is not valid UTF-8"),
            )
            .hint("save the file as UTF-8 (manifests are UTF-8 text; UTF-16 and Latin-1 are not read)"))
        }
    }
}
