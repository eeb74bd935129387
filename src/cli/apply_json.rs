//! `apply --format json`: the per-step report as one JSON document on stdout, for pipelines that
//! act on what an apply did (which step failed, what never ran) without parsing text meant for
//! people.
//!
//! The document is built from the serializable types below, never from strings, so every field
//! is always present with the type the README documents ("Apply JSON"); `format_version` changes
//! when a field changes meaning or goes away.

use serde::Serialize;

use crate::plan::{Address, Plan, Target};
use crate::providers::report::{ApplyReport, CommandOutcome};

/// The apply JSON format's version (`format_version`).
pub const APPLY_FORMAT_VERSION: u32 = 1;

/// How an apply ended, the first thing a pipeline checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Every step completed and every changed connector reached its declared state.
    Applied,
    /// The plan was empty: nothing was sent.
    NoChanges,
    /// Nothing was sent because apply refused: invalid manifests, a plan that cannot be carried
    /// out, a saved plan that is stale or does not match, a risky change without `--allow`, or
    /// no confirmation.
    Refused,
    /// A target could not be reached or read, a step failed, its outcome is unknown, or a
    /// connector did not reach its declared state.
    Failed,
    /// Ctrl-C or SIGTERM stopped apply before its next request.
    Interrupted,
}

/// The system a step talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum System {
    /// Kafka admin operations.
    Kafka,
    /// Kusto control commands.
    Kusto,
    /// Kafka Connect REST requests.
    Connect,
}

impl From<&Target> for System {
    fn from(target: &Target) -> System {
        match target {
            Target::Kafka => System::Kafka,
            Target::Kusto { .. } => System::Kusto,
            Target::Connect { .. } => System::Connect,
        }
    }
}

/// What happened to one step (as the text report's `ok`, `FAILED`, `not run`, `unknown`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum StepOutcome {
    /// It ran and succeeded.
    Completed,
    /// It ran and failed; `message` is the system's reason.
    Failed {
        /// The reason.
        message: String,
    },
    /// It was not sent (an earlier step failed, or apply was interrupted).
    NotRun,
    /// The response was lost: it may or may not have run.
    Unknown,
}

impl From<&CommandOutcome> for StepOutcome {
    fn from(outcome: &CommandOutcome) -> StepOutcome {
        match outcome {
            CommandOutcome::Completed => StepOutcome::Completed,
            CommandOutcome::Failed(message) => StepOutcome::Failed {
                message: message.clone(),
            },
            CommandOutcome::NotRun => StepOutcome::NotRun,
            CommandOutcome::Unknown => StepOutcome::Unknown,
        }
    }
}

/// One command or request of the plan, in the order apply sent (or would have sent) it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// The change's address.
    pub address: Address,
    /// The system it talks to (`null` only for an address the plan does not hold).
    pub system: Option<System>,
    /// The command as the plan shows it (secrets are references or masked there, never values).
    pub command: String,
    /// What happened to it.
    #[serde(flatten)]
    pub outcome: StepOutcome,
}

/// Whether a changed connector reached its declared state after the steps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    /// The connector's address.
    pub address: Address,
    /// Whether it (and all its tasks) reached the declared state.
    pub reached: bool,
    /// What Connect showed last when it did not (masked), else `null`.
    pub detail: Option<String>,
}

/// How many steps ended each way, so a pipeline need not count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Every step.
    pub steps: usize,
    /// Steps that completed.
    pub completed: usize,
    /// Steps that failed.
    pub failed: usize,
    /// Steps never sent.
    pub not_run: usize,
    /// Steps whose outcome is unknown.
    pub unknown: usize,
    /// Requests sent (Kusto scripts, Kafka admin batches, Connect requests).
    pub requests: usize,
}

/// The whole document `apply --format json` prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApplyDocument {
    /// [`APPLY_FORMAT_VERSION`].
    pub format_version: u32,
    /// The stack name (`null` when apply stopped before the manifests were loaded).
    pub stack: Option<String>,
    /// The environment, when one was selected and known.
    pub environment: Option<String>,
    /// Whether a saved plan file was applied.
    pub saved_plan: bool,
    /// How the apply ended.
    pub outcome: Outcome,
    /// Why apply refused or failed, one message per problem (as the `error:` lines on stderr).
    pub errors: Vec<String>,
    /// For invalid manifests, every problem as `validate --format json` reports it.
    pub problems: Vec<serde_json::Value>,
    /// Step counts.
    pub counts: Counts,
    /// Every step, in order.
    pub steps: Vec<Step>,
    /// Connector-state checks after the steps.
    pub verifications: Vec<Verification>,
    /// With `--verify`: the canary checks of the routes and tables the plan created or
    /// changed, as `verify --format json` reports them (`ok`, `checks`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub canaries: Option<CanaryReport>,
}

/// The canary checks inside the apply document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CanaryReport {
    /// No check failed and no canary was left behind.
    pub ok: bool,
    /// One entry per check.
    pub checks: Vec<crate::verify::CheckReport>,
}

impl ApplyDocument {
    /// A document for an apply that ended before any step was reported.
    pub fn new(saved_plan: bool, outcome: Outcome) -> ApplyDocument {
        ApplyDocument {
            format_version: APPLY_FORMAT_VERSION,
            stack: None,
            environment: None,
            saved_plan,
            outcome,
            errors: Vec::new(),
            problems: Vec::new(),
            counts: Counts::default(),
            steps: Vec::new(),
            verifications: Vec::new(),
            canaries: None,
        }
    }

    /// Takes the stack and environment from the plan.
    pub fn set_plan(&mut self, plan: &Plan) {
        self.stack = Some(plan.stack.clone());
        self.environment = plan.environment.clone();
    }

    /// Records the report: each step with its system (`system_of` its address), the counts and
    /// the connector checks.
    pub fn set_report(
        &mut self,
        report: &ApplyReport,
        system_of: impl Fn(&Address) -> Option<System>,
    ) {
        self.steps = report
            .commands
            .iter()
            .map(|(address, command, outcome)| Step {
                address: address.clone(),
                system: system_of(address),
                command: command.clone(),
                outcome: StepOutcome::from(outcome),
            })
            .collect();
        let count =
            |f: fn(&StepOutcome) -> bool| self.steps.iter().filter(|s| f(&s.outcome)).count();
        self.counts = Counts {
            steps: self.steps.len(),
            completed: count(|o| *o == StepOutcome::Completed),
            failed: count(|o| matches!(o, StepOutcome::Failed { .. })),
            not_run: count(|o| *o == StepOutcome::NotRun),
            unknown: count(|o| *o == StepOutcome::Unknown),
            requests: report.requests,
        };
        self.verifications = report
            .verifications
            .iter()
            .map(|v| Verification {
                address: v.address.clone(),
                reached: v.reached.is_ok(),
                detail: v.reached.as_ref().err().cloned(),
            })
            .collect();
    }

    /// The system of the change of `plan` at `address`.
    pub fn system_in(plan: &Plan, address: &Address) -> Option<System> {
        plan.changes
            .iter()
            .find(|c| c.address == *address)
            .map(|c| System::from(&c.target))
    }

    /// The document, pretty-printed with a final newline.
    pub fn render(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string_pretty(self).map(|text| text + "\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::report::StateCheck;

    #[test]
    fn steps_carry_their_system_outcome_and_counts() {
        let plan: Plan = serde_json::from_value(serde_json::json!({
            "version": 1, "stack": "s", "environment": "prod", "fingerprint": "f",
            "changes": [], "undeclared_principals_left": 0
        }))
        .expect("plan");
        let report = ApplyReport {
            commands: vec![
                (
                    "kusto.db.table.a".parse().expect("address"),
                    ".create table T (x: int)".into(),
                    CommandOutcome::Completed,
                ),
                (
                    "kusto.db.table.a".parse().expect("address"),
                    ".alter x".into(),
                    CommandOutcome::Failed("boom".into()),
                ),
                (
                    "kusto.db.table.b".parse().expect("address"),
                    ".drop y".into(),
                    CommandOutcome::NotRun,
                ),
            ],
            requests: 1,
            interrupted: false,
            verifications: vec![StateCheck {
                address: "connect.main.connector.c".parse().expect("address"),
                reached: Err("FAILED".into()),
            }],
        };
        let mut doc = ApplyDocument::new(false, Outcome::Failed);
        doc.set_plan(&plan);
        doc.set_report(&report, |a| ApplyDocument::system_in(&plan, a));
        let value: serde_json::Value =
            serde_json::from_str(&doc.render().expect("render")).expect("json");
        assert_eq!(value["format_version"], 1);
        assert_eq!(value["outcome"], "failed");
        assert_eq!(value["environment"], "prod");
        assert_eq!(value["steps"][1]["outcome"], "failed");
        assert_eq!(value["steps"][1]["message"], "boom");
        assert_eq!(value["steps"][2]["outcome"], "not_run");
        assert_eq!(value["steps"][0]["system"], serde_json::Value::Null);
        assert_eq!(
            value["counts"],
            serde_json::json!({"steps": 3, "completed": 1, "failed": 1, "not_run": 1, "unknown": 0, "requests": 1})
        );
        assert_eq!(value["verifications"][0]["reached"], false);
        assert_eq!(value["verifications"][0]["detail"], "FAILED");
    }
}
