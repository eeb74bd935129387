//! `kustoplan export strimzi`: the KafkaConnector resources of `managed_by: strimzi` clusters,
//! printed, written to a directory kept in step with the manifests, or checked against one.

use super::exit::Exit;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::{ColorChoice, ExportArgs, ExportFormat};
use crate::diagnostics;
use crate::export::{self, HEADER, Resource};
use crate::manifest::{self, LoadOptions};

/// Loads the stack and writes, prints or checks its resources. Contacts no live system.
pub fn run(args: &ExportArgs, color: ColorChoice) -> Exit {
    let options = LoadOptions {
        environment: args.stack.env.clone(),
        vars: args.stack.vars.clone(),
    };
    let m = match manifest::load(&args.stack.paths, &options) {
        Ok(m) => m,
        Err(failure) => {
            eprint!(
                "{}",
                diagnostics::render(&failure.diagnostics, &failure.sources, color.stderr)
            );
            eprintln!("error: the manifests are invalid; nothing was exported");
            return Exit::Failure;
        }
    };
    let resources = match args.format {
        ExportFormat::Strimzi => export::strimzi(&m),
    };
    let resources = match resources {
        Ok(r) => r,
        Err(problems) => {
            eprint!(
                "{}",
                diagnostics::render(&problems, &m.sources, color.stderr)
            );
            eprintln!("error: nothing was exported");
            return Exit::Failure;
        }
    };
    if resources.is_empty() {
        eprintln!(
            "warning: no Connect cluster of this stack is `managed_by: strimzi`: there is nothing to export"
        );
    }
    let Some(dir) = &args.out else {
        let stream: Vec<&str> = resources.iter().map(|r| r.yaml.as_str()).collect();
        print!("{}", stream.join("---\n"));
        return Exit::Success;
    };
    let changes = match differences(dir, &resources) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Failure;
        }
    };
    if args.check {
        if changes.is_empty() {
            println!("{} is up to date", dir.display());
            return Exit::Success;
        }
        for change in &changes {
            println!("{}", change.describe(dir));
        }
        eprintln!(
            "error: {} is out of date ({} {}); run `kustoplan export strimzi --out {}` and commit the result",
            dir.display(),
            changes.len(),
            if changes.len() == 1 { "file" } else { "files" },
            dir.display()
        );
        return Exit::OutOfDate;
    }
    for change in &changes {
        if let Err(e) = change.carry_out(dir) {
            eprintln!("error: {e}");
            return Exit::Failure;
        }
        println!("{}", change.describe(dir));
    }
    if changes.is_empty() {
        println!("{} is up to date", dir.display());
    }
    Exit::Success
}

/// One file to write or remove.
enum FileChange<'a> {
    /// A resource whose file is missing or differs.
    Write(&'a Resource),
    /// A file an earlier export wrote for a connector no longer declared.
    Remove(String),
}

impl FileChange<'_> {
    fn describe(&self, dir: &Path) -> String {
        match self {
            FileChange::Write(r) => format!("wrote {}", dir.join(&r.file).display()),
            FileChange::Remove(file) => format!("removed {}", dir.join(file).display()),
        }
    }

    fn carry_out(&self, dir: &Path) -> Result<(), String> {
        match self {
            FileChange::Write(r) => {
                let path = dir.join(&r.file);
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent)
                        .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
                }
                std::fs::write(&path, &r.yaml)
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))
            }
            FileChange::Remove(file) => {
                let path = dir.join(file);
                std::fs::remove_file(&path)
                    .map_err(|e| format!("cannot remove {}: {e}", path.display()))
            }
        }
    }
}

/// What differs between `dir` and `resources`: files to write, and exported files (those
/// starting with [`HEADER`]) of the clusters' directories that no resource has any more.
/// Files anyone else wrote are never touched.
fn differences<'a>(dir: &Path, resources: &'a [Resource]) -> Result<Vec<FileChange<'a>>, String> {
    let mut changes = Vec::new();
    for r in resources {
        let path = dir.join(&r.file);
        match std::fs::read_to_string(&path) {
            Ok(text) if text == r.yaml => {}
            Ok(_) => changes.push(FileChange::Write(r)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                changes.push(FileChange::Write(r));
            }
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        }
    }
    let wanted: BTreeSet<&str> = resources.iter().map(|r| r.file.as_str()).collect();
    for file in exported_files(dir)? {
        if !wanted.contains(file.as_str()) {
            changes.push(FileChange::Remove(file));
        }
    }
    Ok(changes)
}

/// `CLUSTER/NAME.yaml` of every file under `dir` (one level of cluster directories) that an
/// export wrote.
fn exported_files(dir: &Path) -> Result<Vec<String>, String> {
    let mut files = Vec::new();
    let clusters = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(files),
        Err(e) => return Err(format!("cannot read {}: {e}", dir.display())),
    };
    for cluster in clusters {
        let cluster = cluster.map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        let cluster_dir: PathBuf = cluster.path();
        if !cluster_dir.is_dir() {
            continue;
        }
        let entries = std::fs::read_dir(&cluster_dir)
            .map_err(|e| format!("cannot read {}: {e}", cluster_dir.display()))?;
        for entry in entries {
            let path = entry
                .map_err(|e| format!("cannot read {}: {e}", cluster_dir.display()))?
                .path();
            if path.extension().is_none_or(|x| x != "yaml") {
                continue;
            }
            let text = match std::fs::read_to_string(&path) {
                Ok(t) => t,
                Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
            };
            if !text.starts_with(HEADER) {
                continue;
            }
            if let (Some(c), Some(f)) = (
                cluster_dir.file_name().and_then(|n| n.to_str()),
                path.file_name().and_then(|n| n.to_str()),
            ) {
                files.push(format!("{c}/{f}"));
            }
        }
    }
    files.sort();
    Ok(files)
}
