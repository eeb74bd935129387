//! `kustoplan force-unlock LOCK_ID`: removes the apply lease a crashed or stuck apply left on
//! the live systems, as `terraform force-unlock LOCK_ID` does for Terraform's state lock.
//!
//! It takes the lease's id (shown in every refusal) rather than "whatever lease is there", so
//! it can never remove the lease of an apply that started after the one the user meant; and it
//! asks for confirmation unless `--force`, because removing the lease of an apply that still
//! runs lets a second apply run beside it (the first stops at its next renewal).

use super::exit::Exit;
use std::io::{BufRead, IsTerminal, Write};

use super::{ColorChoice, ForceUnlockArgs, report_workflow_error, runtime, source_of};
use crate::kusto::lease::Holder;
use crate::providers::kusto::lease::{force_unlock, holders};
use crate::workflow::open_lease_target;

/// Removes the lease `args.lock_id` of the stack in `args.stack` from every database it holds.
pub fn run(args: &ForceUnlockArgs, color: ColorChoice) -> Exit {
    let source = source_of(&args.stack, None);
    let target = match open_lease_target(&source) {
        Ok(Some(target)) => target,
        Ok(None) => {
            eprintln!(
                "error: the stack's Kusto target is the built-in sandbox, whose apply lock is an OS lock on its directory, released when its holder exits: there is no lease to unlock"
            );
            return Exit::Failure;
        }
        Err(e) => return report_workflow_error(e, color),
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let id = &args.lock_id;
    let seen = match rt.block_on(holders(&target.transport, &target.stack, &target.databases)) {
        Ok(seen) => seen,
        Err(e) => {
            eprintln!("error: {e}; nothing was removed");
            return Exit::Failure;
        }
    };
    let held_by_id: Vec<(&String, &Holder)> = seen
        .iter()
        .filter_map(|(db, holder)| match holder {
            Some(h @ Holder::Record(r)) if &r.id == id => Some((db, h)),
            _ => None,
        })
        .collect();
    let Some((_, holder)) = held_by_id.first() else {
        eprintln!(
            "error: no apply lease with id {id} is held for stack `{}`; nothing was removed",
            target.stack
        );
        for (db, holder) in &seen {
            match holder {
                Some(holder) => eprintln!("note: the lease in database `{db}` is held by {holder}"),
                None => eprintln!("note: no apply lease is held in database `{db}`"),
            }
        }
        return Exit::Failure;
    };
    let databases: Vec<String> = held_by_id.iter().map(|(db, _)| format!("`{db}`")).collect();
    println!(
        "Apply lease {id} of stack `{}` is held by {holder} in database {}.",
        target.stack,
        databases.join(", ")
    );
    if !args.force && !confirm() {
        return Exit::Failure;
    }
    match rt.block_on(force_unlock(
        &target.transport,
        &target.stack,
        &target.databases,
        id,
    )) {
        Ok(removed) if removed.is_empty() => {
            eprintln!(
                "error: the lease changed hands while it was being removed; nothing was removed"
            );
            Exit::Failure
        }
        Ok(removed) => {
            let removed: Vec<String> = removed.iter().map(|db| format!("`{db}`")).collect();
            println!(
                "Apply lease {id} removed from database {}. If its apply still runs, it stops before its next request once it notices (at its next renewal).",
                removed.join(", ")
            );
            Exit::Success
        }
        Err(e) => {
            eprintln!("error: {e}");
            Exit::Failure
        }
    }
}

/// Terraform's question, answered on a terminal only.
fn confirm() -> bool {
    if !std::io::stdin().is_terminal() {
        eprintln!(
            "error: force-unlock needs confirmation; pass --force when not running in a terminal"
        );
        return false;
    }
    print!(
        "\nRemoving the lease of an apply that still runs lets another apply run beside it.\nDo you really want to force-unlock? Only 'yes' is accepted: "
    );
    let _ = std::io::stdout().flush();
    let mut answer = String::new();
    let ok = std::io::stdin().lock().read_line(&mut answer).is_ok() && answer.trim() == "yes";
    if !ok {
        eprintln!("Force-unlock cancelled; nothing was removed.");
    }
    ok
}
