//! Carrying out planned Kusto changes in `.execute database script` batches.
//!
//! A script runs its commands in order and is not transactional, so the report says exactly
//! which commands ran, which one failed and which never started.

use crate::interrupt::StopRequest;
use crate::kusto::render;
use crate::plan::{Change, Target};

use super::transport::{KustoTransport, TransportError};
use crate::providers::report::{ApplyReport, CommandOutcome};

/// At most this many commands per script request.
pub const MAX_COMMANDS_PER_SCRIPT: usize = 1000;
/// At most this many bytes of command text per script request (well under the service's limits).
pub const MAX_SCRIPT_BYTES: usize = 1 << 20;

/// A script-sized group of commands in one database.
struct Batch {
    database: String,
    items: Vec<(String, String)>,
}

fn batches(changes: &[Change]) -> Vec<Batch> {
    let mut out: Vec<Batch> = Vec::new();
    for change in changes {
        let Target::Kusto { database } = &change.target else {
            continue;
        };
        for command in &change.commands {
            let fits = out.last().is_some_and(|b| {
                b.database == *database
                    && b.items.len() < MAX_COMMANDS_PER_SCRIPT
                    && b.items.iter().map(|(_, c)| c.len() + 1).sum::<usize>() + command.len()
                        <= MAX_SCRIPT_BYTES
            });
            if !fits {
                out.push(Batch {
                    database: database.clone(),
                    items: Vec::new(),
                });
            }
            if let Some(batch) = out.last_mut() {
                batch.items.push((change.address.clone(), command.clone()));
            }
        }
    }
    out
}

/// Runs the Kusto changes' commands in order, batched into scripts; stops at the first failure.
/// Changes for other systems are skipped here.
/// `progress` is told about each batch before it is sent.
pub async fn apply(
    transport: &KustoTransport,
    changes: &[Change],
    stop: &StopRequest,
    mut progress: impl FnMut(usize, usize, usize),
) -> ApplyReport {
    let all = batches(changes);
    let total = all.len();
    let mut report = ApplyReport::default();
    let mut stopped = false;
    for (i, batch) in all.into_iter().enumerate() {
        if !stopped && stop.is_requested() {
            stopped = true;
            report.interrupted = true;
        }
        if stopped {
            report.commands.extend(
                batch
                    .items
                    .into_iter()
                    .map(|(a, c)| (a, c, CommandOutcome::NotRun)),
            );
            continue;
        }
        progress(i + 1, total, batch.items.len());
        let commands: Vec<String> = batch.items.iter().map(|(_, c)| c.clone()).collect();
        let script = render::execute_script(&commands, false);
        report.requests += 1;
        match transport.mgmt(&batch.database, &script).await {
            Ok(response) => {
                let outcomes = script_outcomes(&response, commands.len());
                stopped = outcomes.iter().any(|o| *o != CommandOutcome::Completed);
                report.commands.extend(
                    batch
                        .items
                        .into_iter()
                        .zip(outcomes)
                        .map(|((a, c), o)| (a, c, o)),
                );
            }
            Err(TransportError {
                message,
                outcome_unknown,
                ..
            }) => {
                stopped = true;
                let outcome = if outcome_unknown {
                    CommandOutcome::Unknown
                } else {
                    CommandOutcome::Failed(message)
                };
                let mut items = batch.items.into_iter();
                if let Some((a, c)) = items.next() {
                    report.commands.push((a, c, outcome.clone()));
                }
                let rest = if outcome_unknown {
                    CommandOutcome::Unknown
                } else {
                    CommandOutcome::NotRun
                };
                report
                    .commands
                    .extend(items.map(|(a, c)| (a, c, rest.clone())));
            }
        }
    }
    report
}

/// Reads the per-command rows of an `.execute database script` result.
fn script_outcomes(
    response: &crate::kusto::v1::V1Response,
    expected: usize,
) -> Vec<CommandOutcome> {
    let Some(table) = response.primary() else {
        return vec![CommandOutcome::Unknown; expected];
    };
    let (result_i, reason_i) = (table.column_index("Result"), table.column_index("Reason"));
    let mut out: Vec<CommandOutcome> = table
        .value_rows()
        .map(|row| {
            let cell = |i: Option<usize>| {
                i.and_then(|i| row.get(i))
                    .and_then(|v| v.as_str())
                    .unwrap_or("")
            };
            match cell(result_i) {
                "Completed" => CommandOutcome::Completed,
                "Failed" => CommandOutcome::Failed(cell(reason_i).to_string()),
                _ => CommandOutcome::NotRun,
            }
        })
        .collect();
    out.resize(expected, CommandOutcome::NotRun);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Action, ImpactClass};

    fn change(address: &str, commands: Vec<String>) -> Change {
        Change {
            address: address.into(),
            action: Action::Create,
            impact: ImpactClass::Safe,
            summary: String::new(),
            before: None,
            after: None,
            target: Target::Kusto {
                database: "db".into(),
            },
            commands,
            operations: Vec::new(),
            phase: 0,
            previous_address: None,
        }
    }

    #[test]
    fn batches_respect_the_command_limit() {
        let changes: Vec<Change> = (0..2500)
            .map(|i| {
                change(
                    &format!("t{i}"),
                    vec![format!(".create table T{i} (A:int)")],
                )
            })
            .collect();
        let sizes: Vec<usize> = batches(&changes).iter().map(|b| b.items.len()).collect();
        assert_eq!(sizes, vec![1000, 1000, 500]);
    }

    #[tokio::test]
    async fn a_failing_command_stops_the_rest_and_the_report_says_which_ran() {
        let sandbox = std::sync::Arc::new(
            crate::sandbox::kusto::KustoSandbox::in_memory(&["db".to_string()]).unwrap(),
        );
        let transport = KustoTransport::local(sandbox);
        let changes = vec![
            change("a", vec![".create table A (x:int)".into()]),
            change("b", vec![".alter column Missing.x type=long".into()]),
            change("c", vec![".create table C (x:int)".into()]),
        ];
        let report = apply(&transport, &changes, &StopRequest::default(), |_, _, _| {}).await;
        assert_eq!(report.requests, 1);
        let outcomes: Vec<(&str, bool)> = report
            .commands
            .iter()
            .map(|(a, _, o)| (a.as_str(), *o == CommandOutcome::Completed))
            .collect();
        assert_eq!(outcomes, vec![("a", true), ("b", false), ("c", false)]);
        assert!(matches!(report.commands[1].2, CommandOutcome::Failed(ref r) if !r.is_empty()));
        assert_eq!(report.commands[2].2, CommandOutcome::NotRun);
        assert!(!report.succeeded());
    }
}
