//! What apply did, in one shape for every system: each planned command's outcome, the
//! requests sent, whether the user stopped it, and whether changed connectors reached their
//! declared state. The CLI renders it as text or JSON; exit codes follow [`ApplyReport::succeeded`].

use crate::plan::{Address, Change};

/// The state of one command after apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandOutcome {
    /// It ran and succeeded.
    Completed,
    /// It ran and failed, with Kusto's reason.
    Failed(String),
    /// It did not run (an earlier command failed, or the request was cut).
    NotRun,
    /// The response was lost: it may or may not have run.
    Unknown,
}

/// What happened to every command of every change.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ApplyReport {
    /// (change address, command, outcome), in plan order.
    pub commands: Vec<(Address, String, CommandOutcome)>,
    /// Script requests sent.
    pub requests: usize,
    /// Apply stopped early because the user asked it to (Ctrl-C or SIGTERM).
    pub interrupted: bool,
    /// After the commands, whether each changed connector reached its declared state, in the
    /// order checked: kept apart from `commands` because no request of the plan is behind it.
    pub verifications: Vec<StateCheck>,
}

/// Whether a connector reached its declared state (and all its tasks) after apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateCheck {
    /// The connector's address (`connect.CLUSTER.connector.NAME`).
    pub address: Address,
    /// `Err` with what Connect showed last (masked, first lines of task traces) when it did not.
    pub reached: Result<(), String>,
}

impl ApplyReport {
    /// Marks the commands of the changes `later` selects as not run (an earlier step failed or
    /// apply was interrupted), so the report still lists every planned command.
    pub fn skip(&mut self, changes: &[Change], later: impl Fn(&Change) -> bool) {
        for c in changes.iter().filter(|c| later(c)) {
            for cmd in c.command_texts() {
                self.commands
                    .push((c.address.clone(), cmd, CommandOutcome::NotRun));
            }
        }
    }

    /// Whether every command completed and every changed connector reached its declared state.
    pub fn succeeded(&self) -> bool {
        self.commands
            .iter()
            .all(|(_, _, o)| *o == CommandOutcome::Completed)
            && self.verifications.iter().all(|v| v.reached.is_ok())
    }
}
