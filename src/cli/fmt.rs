//! `kustoplan fmt`: rewrites manifests in the canonical layout and lists the files it changed;
//! with `--check`, changes nothing and lists the files that are not formatted (for CI); `fmt -`
//! formats standard input to standard output (for editors).

use super::exit::Exit;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use similar::TextDiff;

use super::{ColorChoice, FmtArgs};
use crate::diagnostics::{self, Diagnostic, SourceMap};
use crate::manifest::files;
use crate::manifest::fmt::Formatter;

/// Formats every manifest file of the paths. Exit 1 when a file could not be read, parsed or
/// written (it is left as it is; the others are still formatted), or with `--check` when a
/// file is not formatted.
pub fn run(args: &FmtArgs, color: ColorChoice) -> Exit {
    if let [only] = args.paths.as_slice()
        && only.as_os_str() == "-"
    {
        return run_stdin(args, color);
    }
    let mut problems = Vec::new();
    let mut sources = SourceMap::default();
    let formatter = Formatter::new();
    let mut unformatted = 0usize;
    let mut stdout = std::io::stdout().lock();
    for path in files::collect(&args.paths, &mut problems) {
        let id = match files::read(&path, &mut sources) {
            Ok(id) => id,
            Err(problem) => {
                problems.push(problem);
                continue;
            }
        };
        let original = sources.text(id).unwrap_or_default();
        let formatted = match formatter.format(original, id) {
            Ok(formatted) => formatted,
            Err(problem) => {
                problems.push(problem);
                continue;
            }
        };
        if formatted == original {
            continue;
        }
        if !args.check
            && let Err(problem) = write_in_place(&path, &formatted)
        {
            problems.push(problem);
            continue;
        }
        unformatted += 1;
        // A closed stdout (`| head`) leaves nothing else to tell.
        let _ = writeln!(stdout, "{}", path.display());
        if args.diff {
            let _ = write!(
                stdout,
                "{}",
                unified_diff(&path.display().to_string(), original, &formatted)
            );
        }
    }
    drop(stdout);
    if !problems.is_empty() {
        eprint!("{}", diagnostics::render(&problems, &sources, color.stderr));
        let n = problems.len();
        eprintln!(
            "error: {n} {} found; files with problems are left as they were",
            if n == 1 { "problem" } else { "problems" },
        );
    }
    if args.check && unformatted > 0 {
        eprintln!(
            "error: {unformatted} {} not formatted; run `kustoplan fmt` to rewrite {}",
            if unformatted == 1 {
                "file is"
            } else {
                "files are"
            },
            if unformatted == 1 { "it" } else { "them" },
        );
    }
    Exit::success_if(problems.is_empty() && !(args.check && unformatted > 0))
}

/// `kustoplan fmt -`, for editors: standard input formatted to standard output; with
/// `--check` nothing is printed, with `--diff` the diff instead of the text. Exit 1 when the
/// input does not parse (nothing is printed on stdout), or with `--check` when it would change.
fn run_stdin(args: &FmtArgs, color: ColorChoice) -> Exit {
    let mut text = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut text) {
        eprintln!("error: cannot read standard input: {e}");
        return Exit::Failure;
    }
    let mut sources = SourceMap::default();
    let id = sources.add(PathBuf::from("<stdin>"), text);
    let original = sources.text(id).unwrap_or_default();
    let formatted = match Formatter::new().format(original, id) {
        Ok(formatted) => formatted,
        Err(problem) => {
            eprint!(
                "{}",
                diagnostics::render(&[problem], &sources, color.stderr)
            );
            eprintln!("error: standard input could not be formatted");
            return Exit::Failure;
        }
    };
    let changed = formatted != original;
    let mut stdout = std::io::stdout().lock();
    // A closed stdout leaves nothing else to tell.
    if args.diff {
        let _ = write!(stdout, "{}", unified_diff("<stdin>", original, &formatted));
    } else if !args.check {
        let _ = write!(stdout, "{formatted}");
    }
    Exit::success_if(!(args.check && changed))
}

/// The change as a unified diff with three lines of context, both sides named `name`.
fn unified_diff(name: &str, old: &str, new: &str) -> String {
    TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(name, name)
        .to_string()
}

/// Replaces the file's content through a hidden file beside it, renamed over the original:
/// an interrupted run never leaves half a manifest. The original's permissions are kept, and
/// a symlink keeps pointing at the file it pointed at, which is the one rewritten.
fn write_in_place(path: &Path, text: &str) -> Result<(), Diagnostic> {
    let failed = |e: std::io::Error| {
        Diagnostic::global(format!("cannot write {}: {e}", path.display()))
            .hint("check the file's permissions; it was left as it is")
    };
    let real = std::fs::canonicalize(path).map_err(failed)?;
    let name = real
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = real.with_file_name(format!(".{name}.kustoplan-fmt-{}", std::process::id()));
    let permissions = std::fs::metadata(&real).map_err(failed)?.permissions();
    let written = std::fs::write(&temp, text)
        .and_then(|()| std::fs::set_permissions(&temp, permissions))
        .and_then(|()| std::fs::rename(&temp, &real));
    if let Err(e) = written {
        // The original is untouched; the partial copy goes.
        let _ = std::fs::remove_file(&temp);
        return Err(failed(e));
    }
    Ok(())
}
