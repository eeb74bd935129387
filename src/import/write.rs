//! Writing imported manifests into `--out`: every file or none, and never through a symlink that
//! leads out of `--out`.
//!
//! Files are first written into a hidden staging directory next to their destination (same file
//! system), then moved into place with `rename`, which replaces a file or a link instead of
//! writing through it. A problem found before writing (an existing file without `--force`, a
//! symlink leading out, a file where a directory must go) writes nothing; a failure while writing
//! or moving undoes what was done, so a failed import leaves `--out` as it found it.

use std::io;
use std::path::{Component, Path, PathBuf};

/// Writes `files` (paths relative to `out`, contents) into `out`, creating it if missing.
/// Existing files are refused unless `force`. On failure, returns one message per problem and
/// leaves `out` as it was.
pub fn write_all(out: &Path, files: &[(PathBuf, String)], force: bool) -> Result<(), Vec<String>> {
    for (rel, _) in files {
        if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
            return Err(vec![format!(
                "refusing to write {}: not a plain relative path",
                rel.display()
            )]);
        }
    }
    match std::fs::symlink_metadata(out) {
        Ok(_) => {
            let root = std::fs::canonicalize(out)
                .map_err(|e| vec![format!("cannot open {}: {e}", out.display())])?;
            if !root.is_dir() {
                return Err(vec![format!(
                    "{} exists and is not a directory",
                    out.display()
                )]);
            }
            preflight(out, &root, files, force)?;
            into_existing(&root, files).map_err(|e| vec![e])
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => into_new(out, files).map_err(|e| vec![e]),
        Err(e) => Err(vec![format!("cannot open {}: {e}", out.display())]),
    }
}

/// Everything that can be checked before writing: files that exist (without `force`), symlinks
/// leading out of `root`, and files or directories in the way.
fn preflight(
    out: &Path,
    root: &Path,
    files: &[(PathBuf, String)],
    force: bool,
) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    let mut existing = 0usize;
    for (rel, _) in files {
        let parts: Vec<&std::ffi::OsStr> = rel.iter().collect();
        let mut at = root.to_path_buf();
        for (i, part) in parts.iter().enumerate() {
            at.push(part);
            let shown = out.join(parts[..=i].iter().collect::<PathBuf>());
            let is_file = i + 1 == parts.len();
            let Ok(meta) = std::fs::symlink_metadata(&at) else {
                break;
            };
            if meta.file_type().is_symlink() {
                match std::fs::canonicalize(&at) {
                    Ok(target) if target.starts_with(root) => {}
                    Ok(target) => {
                        problems.push(format!(
                            "{} is a symlink leading out of {} (to {}); refusing to write through it",
                            shown.display(),
                            out.display(),
                            target.display()
                        ));
                        break;
                    }
                    Err(_) if is_file => {}
                    Err(e) => {
                        problems.push(format!("{} is a broken symlink: {e}", shown.display()));
                        break;
                    }
                }
            }
            let is_dir = std::fs::metadata(&at).is_ok_and(|m| m.is_dir());
            if is_file && is_dir {
                problems.push(format!("{} is a directory", shown.display()));
            } else if is_file && !force {
                problems.push(format!("{} already exists", shown.display()));
                existing += 1;
            } else if !is_file && !is_dir {
                problems.push(format!(
                    "{} is not a directory (a file of the import goes inside it)",
                    shown.display()
                ));
                break;
            }
        }
    }
    if existing > 0 {
        problems.push(format!(
            "{existing} file{} would be overwritten; nothing was written (use --force to overwrite)",
            if existing == 1 { "" } else { "s" }
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// A fresh hidden directory inside `parent`, for staging.
fn staging_dir(parent: &Path, name: &str) -> Result<PathBuf, String> {
    let dir = parent.join(format!(".{name}.kustoplan-import-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir(&dir)
        .map(|()| dir.clone())
        .map_err(|e| format!("cannot create {}: {e}", dir.display()))
}

/// Writes `files` under `dir`. The files are written on up to every core, each core a run of
/// them (creating a file costs more than writing it: a tenth of a 10,000-table import, on one);
/// the first failure in the files' order is returned.
fn write_tree(dir: &Path, files: &[(PathBuf, String)]) -> Result<(), String> {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    if cores < 2 || files.len() < 32 {
        return write_run(dir, files);
    }
    std::thread::scope(|scope| {
        let workers: Vec<_> = files
            .chunks(files.len().div_ceil(cores))
            .map(|run| scope.spawn(move || write_run(dir, run)))
            .collect();
        workers.into_iter().try_for_each(crate::threads::joined)
    })
}

/// Writes one run of [`write_tree`]'s files, in order, stopping at the first failure.
fn write_run(dir: &Path, files: &[(PathBuf, String)]) -> Result<(), String> {
    for (rel, text) in files {
        let path = dir.join(rel);
        path.parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&path, text))
            .map_err(|e| format!("cannot write {}: {e}", rel.display()))?;
    }
    Ok(())
}

/// `out` does not exist: stage everything next to it, then rename the staging directory to `out`.
fn into_new(out: &Path, files: &[(PathBuf, String)]) -> Result<(), String> {
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let created = missing_ancestor(&parent);
    std::fs::create_dir_all(&parent)
        .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    let name = out
        .file_name()
        .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
    let result = staging_dir(&parent, &name).and_then(|stage| {
        let done = write_tree(&stage, files).and_then(|()| {
            std::fs::rename(&stage, out)
                .map_err(|e| format!("cannot move the files into {}: {e}", out.display()))
        });
        if done.is_err() {
            remove_quietly(&stage);
        }
        done
    });
    if result.is_err()
        && let Some(top) = created
    {
        remove_quietly(&top);
    }
    result
}

/// The highest ancestor of `dir` (or `dir` itself) that does not exist yet: what creating `dir`
/// adds, and what to remove if the import fails.
fn missing_ancestor(dir: &Path) -> Option<PathBuf> {
    let mut top = None;
    let mut at = Some(dir);
    while let Some(p) = at.filter(|p| !p.as_os_str().is_empty()) {
        if std::fs::symlink_metadata(p).is_ok() {
            break;
        }
        top = Some(p.to_path_buf());
        at = p.parent();
    }
    top
}

/// What moving one file into place did, to undo it.
enum Undo {
    /// A directory that was created.
    Dir(PathBuf),
    /// A file that was moved in where nothing was.
    Created(PathBuf),
    /// A file that was moved in over another, kept at the backup path.
    Replaced { path: PathBuf, backup: PathBuf },
}

/// `root` exists: stage everything inside it, then move each file into place, undoing every move
/// if one fails.
fn into_existing(root: &Path, files: &[(PathBuf, String)]) -> Result<(), String> {
    let stage = staging_dir(root, "import")?;
    let backups = stage.join("replaced");
    let staged = stage.join("new");
    let mut undo = Vec::new();
    let result = write_tree(&staged, files).and_then(|()| {
        files.iter().enumerate().try_for_each(|(i, (rel, _))| {
            move_into_place(
                &staged.join(rel),
                root,
                rel,
                &backups.join(i.to_string()),
                &mut undo,
            )
        })
    });
    let result = result.map_err(|e| {
        let not_undone: Vec<String> = undo
            .into_iter()
            .rev()
            .filter_map(|step| {
                let (path, done) = match step {
                    Undo::Dir(dir) => (dir.clone(), std::fs::remove_dir(&dir)),
                    Undo::Created(path) => (path.clone(), std::fs::remove_file(&path)),
                    Undo::Replaced { path, backup } => {
                        (path.clone(), std::fs::rename(backup, &path))
                    }
                };
                done.err()
                    .filter(|e| e.kind() != io::ErrorKind::NotFound)
                    .map(|e| format!("{}: {e}", path.display()))
            })
            .collect();
        if not_undone.is_empty() {
            e
        } else {
            format!("{e}; could not undo: {}", not_undone.join(", "))
        }
    });
    remove_quietly(&stage);
    result
}

fn move_into_place(
    from: &Path,
    root: &Path,
    rel: &Path,
    backup: &Path,
    undo: &mut Vec<Undo>,
) -> Result<(), String> {
    let failed = |e: io::Error| format!("cannot write {}: {e}", rel.display());
    let dest = root.join(rel);
    if let Some(parent) = rel.parent() {
        let mut at = root.to_path_buf();
        for part in parent {
            at.push(part);
            if std::fs::symlink_metadata(&at).is_err() {
                std::fs::create_dir(&at).map_err(failed)?;
                undo.push(Undo::Dir(at.clone()));
            }
        }
    }
    if std::fs::symlink_metadata(&dest).is_ok() {
        if let Some(dir) = backup.parent() {
            std::fs::create_dir_all(dir).map_err(failed)?;
        }
        std::fs::rename(&dest, backup).map_err(failed)?;
        undo.push(Undo::Replaced {
            path: dest.clone(),
            backup: backup.to_path_buf(),
        });
    } else {
        undo.push(Undo::Created(dest.clone()));
    }
    std::fs::rename(from, &dest).map_err(failed)
}

/// Removes a staging directory; failing to is not worth hiding the import's own outcome.
fn remove_quietly(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
}
