//! Saved plans: `plan --out FILE` writes one, `apply FILE` runs it.
//!
//! A plan file is not trusted as a list of commands. It records what the plan was made from (a
//! digest of the manifest files, the environment, the variables and the targets) and the live
//! state it saw (the fingerprint). `apply FILE` loads the same inputs, observes again and derives
//! the plan afresh; it runs only when the inputs, the live state and the derived changes all
//! equal the file's ([`check_inputs`], [`check_live`], [`check_changes`], in that order).
//! Impact classes, and so the `--allow` gates, come from the fresh derivation, never from the
//! file, so an edited command or a relabelled impact cannot run.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::diagnostics::SourceMap;
use crate::plan::{PLAN_VERSION, Plan, is_sha256_hex, sha256_hex};
use crate::targets::sandbox_dir;
use crate::workflow::Source;

/// A plan file written by `plan --out`: the plan, where it came from and a digest of those
/// inputs. No secrets or tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedPlan {
    /// The reviewed plan.
    pub plan: Plan,
    /// How to reach the same manifests and targets again (absolute paths, so the file works
    /// from any working directory).
    pub source: Source,
    /// [`inputs_digest`] of the manifests and source the plan was made from.
    pub inputs: String,
}

/// Why a saved plan is refused. Each says what to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SavedPlanError {
    /// The file cannot be read, is not a plan file, or is damaged.
    Unreadable(String),
    /// The manifests, variables or targets differ from the ones the plan was made from.
    InputsChanged,
    /// The live state moved on since the plan was made.
    Stale {
        /// The file's fingerprint.
        planned: String,
        /// The live state's fingerprint now.
        live: String,
    },
    /// The file's changes are not what its inputs and the live state produce: it was edited.
    Edited {
        /// The first change that differs, by address.
        address: String,
    },
}

impl std::fmt::Display for SavedPlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SavedPlanError::Unreadable(message) => write!(f, "{message}"),
            SavedPlanError::InputsChanged => write!(
                f,
                "the plan file does not match its inputs: the manifests, environment, variables or targets changed since the plan was made (or the file was edited); run `kustoplan plan --out FILE` again and review the new plan"
            ),
            SavedPlanError::Stale { planned, live } => write!(
                f,
                "stale plan: the live state changed since the plan was made (plan {}, live {}); run `kustoplan plan` again and review the new plan",
                &planned[..12],
                &live[..12]
            ),
            SavedPlanError::Edited { address } => write!(
                f,
                "the plan file was edited: its changes differ from what its manifests and the live state produce (first difference at {address}); nothing was applied; make a new plan with `kustoplan plan --out FILE`"
            ),
        }
    }
}

/// Reads and checks the form of a plan file. A file that is not JSON, was written by another
/// plan format, or carries a malformed digest is refused here, before anything is opened.
pub fn read(path: &Path) -> Result<SavedPlan, SavedPlanError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| SavedPlanError::Unreadable(format!("cannot read {}: {e}", path.display())))?;
    let saved: SavedPlan = serde_json::from_str(&text).map_err(|e| {
        SavedPlanError::Unreadable(format!(
            "{} is not a kustoplan plan file: {e}",
            path.display()
        ))
    })?;
    if saved.plan.version != PLAN_VERSION {
        return Err(SavedPlanError::Unreadable(format!(
            "{} was written by a different kustoplan (plan format {}, this one reads {PLAN_VERSION}); make a new plan",
            path.display(),
            saved.plan.version
        )));
    }
    let Some(fingerprint) = &saved.plan.fingerprint else {
        return Err(SavedPlanError::Unreadable(format!(
            "{} is damaged: it has no fingerprint of the live state it was made from; make a new plan",
            path.display()
        )));
    };
    for (what, digest) in [
        ("fingerprint", fingerprint),
        ("inputs digest", &saved.inputs),
    ] {
        if !is_sha256_hex(digest) {
            return Err(SavedPlanError::Unreadable(format!(
                "{} is damaged: its {what} is not a SHA-256 digest (64 lower-case hex digits); make a new plan",
                path.display()
            )));
        }
    }
    Ok(saved)
}

/// Writes a plan file; a plan that cannot be serialized is an error, never an empty file.
pub fn write(path: &Path, saved: &SavedPlan) -> Result<(), String> {
    let json = serde_json::to_string_pretty(saved).map_err(|e| e.to_string())?;
    std::fs::write(path, json + "\n").map_err(|e| e.to_string())
}

/// The source with every path absolute, so a plan file applies from any working directory.
pub fn absolute_source(source: &Source) -> Result<Source, String> {
    let absolute = |p: &PathBuf| {
        std::path::absolute(p).map_err(|e| format!("cannot resolve {}: {e}", p.display()))
    };
    Ok(Source {
        paths: source
            .paths
            .iter()
            .map(absolute)
            .collect::<Result<_, _>>()?,
        environment: source.environment.clone(),
        vars: source.vars.clone(),
        targets: source.targets.clone(),
        sandbox_dir: source.sandbox_dir.as_ref().map(absolute).transpose()?,
    })
}

/// SHA-256 over everything a plan is derived from besides the live state: each manifest file's
/// absolute path and bytes, the environment, the variables and the built-in sandbox's directory
/// (the other targets are written in the manifests or set by the variables).
pub fn inputs_digest(sources: &SourceMap, source: &Source) -> Result<String, String> {
    #[derive(Serialize)]
    struct Inputs<'a> {
        files: Vec<(PathBuf, String)>,
        environment: &'a Option<String>,
        vars: &'a [(String, String)],
        sandbox_dir: PathBuf,
        targets: &'a [String],
    }
    let mut files = Vec::with_capacity(sources.len());
    for id in 0..sources.len() {
        let id = u32::try_from(id).map_err(|e| e.to_string())?;
        let (Some(path), Some(text)) = (sources.path(id), sources.text(id)) else {
            continue;
        };
        let path = std::path::absolute(path)
            .map_err(|e| format!("cannot resolve {}: {e}", path.display()))?;
        files.push((path, sha256_hex(text.as_bytes())));
    }
    let sandbox = sandbox_dir(source);
    let inputs = Inputs {
        files,
        environment: &source.environment,
        vars: &source.vars,
        targets: &source.targets,
        sandbox_dir: std::path::absolute(&sandbox)
            .map_err(|e| format!("cannot resolve {}: {e}", sandbox.display()))?,
    };
    let json = serde_json::to_vec(&inputs).map_err(|e| e.to_string())?;
    Ok(sha256_hex(&json))
}

/// First gate of `apply FILE`, before anything is observed: the manifests, environment,
/// variables and targets are the ones the plan was made from.
pub fn check_inputs(saved: &SavedPlan, inputs: &str) -> Result<(), SavedPlanError> {
    if saved.inputs == inputs {
        Ok(())
    } else {
        Err(SavedPlanError::InputsChanged)
    }
}

/// Second gate, before the plan is derived again (so a live change that makes the plan
/// impossible still reads as "stale plan"): the live state is the one the plan saw.
pub fn check_live(saved: &SavedPlan, live_fingerprint: &str) -> Result<(), SavedPlanError> {
    match &saved.plan.fingerprint {
        Some(planned) if planned == live_fingerprint => Ok(()),
        Some(planned) => Err(SavedPlanError::Stale {
            planned: planned.clone(),
            live: live_fingerprint.to_string(),
        }),
        None => Err(SavedPlanError::Unreadable(
            "the plan file has no fingerprint of the live state it was made from; make a new plan"
                .to_string(),
        )),
    }
}

/// Last gate: a fresh derivation from the same inputs and live state yields exactly the file's
/// plan, so an edited command or a relabelled impact is refused.
pub fn check_changes(saved: &SavedPlan, fresh: &Plan) -> Result<(), SavedPlanError> {
    if saved.plan == *fresh {
        Ok(())
    } else {
        Err(SavedPlanError::Edited {
            address: first_difference(&saved.plan, fresh),
        })
    }
}

/// The address of the first change where two plans differ (or what differs, when the changes are
/// equal and the header is not).
fn first_difference(saved: &Plan, fresh: &Plan) -> String {
    for i in 0..saved.changes.len().max(fresh.changes.len()) {
        match (saved.changes.get(i), fresh.changes.get(i)) {
            (Some(a), Some(b)) if a == b => {}
            (Some(a), _) => return a.address.to_string(),
            (None, Some(b)) => return b.address.to_string(),
            (None, None) => break,
        }
    }
    "the plan header (stack or environment)".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Action, Change, ImpactClass, Target};

    fn plan(changes: Vec<Change>) -> Plan {
        Plan {
            version: PLAN_VERSION,
            stack: "s".into(),
            environment: None,
            fingerprint: Some(sha256_hex(b"live")),
            changes,
            undeclared_principals_left: 0,
            targets: Vec::new(),
            managed_elsewhere: Default::default(),
        }
    }

    fn drop_column() -> Change {
        Change {
            address: "kusto.db.table.T.column.C".parse().expect("address"),
            action: Action::Delete,
            impact: ImpactClass::DataLoss,
            summary: "drop column".into(),
            before: None,
            after: None,
            before_state: None,
            after_state: None,
            target: Target::Kusto {
                database: "db".into(),
            },
            kusto_commands: vec![
                crate::kusto::command::parse(".alter table T (A:string)").expect("command"),
            ],
            operations: Vec::new(),
            phase: crate::plan::Phase::KustoTables,
            previous_address: None,
        }
    }

    fn saved(changes: Vec<Change>) -> SavedPlan {
        SavedPlan {
            plan: plan(changes),
            source: Source {
                paths: vec!["/stack".into()],
                environment: None,
                vars: Vec::new(),
                sandbox_dir: None,
                targets: Vec::new(),
            },
            inputs: sha256_hex(b"inputs"),
        }
    }

    #[test]
    fn a_relabelled_impact_is_an_edit() {
        let mut relabelled = drop_column();
        relabelled.impact = ImpactClass::Safe;
        let file = saved(vec![relabelled]);
        assert_eq!(
            check_changes(&file, &plan(vec![drop_column()])),
            Err(SavedPlanError::Edited {
                address: "kusto.db.table.T.column.C".into()
            })
        );
    }

    #[test]
    fn an_edited_command_is_an_edit() {
        let mut edited = drop_column();
        edited.kusto_commands =
            vec![crate::kusto::command::parse(".drop table T").expect("command")];
        let file = saved(vec![edited]);
        assert!(matches!(
            check_changes(&file, &plan(vec![drop_column()])),
            Err(SavedPlanError::Edited { .. })
        ));
    }

    #[test]
    fn each_gate_refuses_what_it_guards_and_accepts_the_plan_it_was_made_from() {
        let file = saved(vec![drop_column()]);
        assert_eq!(
            check_inputs(&file, &sha256_hex(b"other inputs")),
            Err(SavedPlanError::InputsChanged)
        );
        assert_eq!(check_inputs(&file, &file.inputs), Ok(()));
        assert!(matches!(
            check_live(&file, &sha256_hex(b"other")),
            Err(SavedPlanError::Stale { .. })
        ));
        assert_eq!(check_live(&file, &sha256_hex(b"live")), Ok(()));
        assert_eq!(check_changes(&file, &plan(vec![drop_column()])), Ok(()));
    }

    /// Why reading back a plan file that has `fingerprint` is refused.
    fn refusal_of_fingerprint(fingerprint: Option<&str>) -> String {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut file = saved(vec![]);
        file.plan.fingerprint = fingerprint.map(str::to_string);
        let path = dir.path().join("refused.plan");
        write(&path, &file).expect("write");
        read(&path)
            .expect_err("a plan file without a valid fingerprint accepted")
            .to_string()
    }

    #[test]
    fn a_malformed_fingerprint_is_refused_without_panicking() {
        for bad in ["", "abc", "é", &"ü".repeat(32), &"A".repeat(64)] {
            let err = refusal_of_fingerprint(Some(bad));
            assert!(
                err
                    .ends_with("is damaged: its fingerprint is not a SHA-256 digest (64 lower-case hex digits); make a new plan"),
                "{err}"
            );
        }
    }

    #[test]
    fn a_plan_file_without_a_fingerprint_is_refused() {
        let err = refusal_of_fingerprint(None);
        assert!(
            err
                .ends_with("is damaged: it has no fingerprint of the live state it was made from; make a new plan"),
            "{err}"
        );
        let mut file = saved(vec![]);
        file.plan.fingerprint = None;
        assert!(matches!(
            check_live(&file, &sha256_hex(b"live")),
            Err(SavedPlanError::Unreadable(_))
        ));
    }

    /// A Kusto change as the planner makes it: typed commands, built by the constructors.
    fn kusto_change(address: &str, kusto_commands: Vec<crate::kusto::command::Command>) -> Change {
        Change {
            address: address.parse().expect("address"),
            kusto_commands,
            ..drop_column()
        }
    }

    fn typed_plan() -> SavedPlan {
        use crate::kusto::render;
        let sink = Change {
            address: "connect.c.connector.gameplay-kusto-sink"
                .parse()
                .expect("address"),
            target: Target::Connect {
                cluster: "c".into(),
            },
            kusto_commands: Vec::new(),
            operations: vec![crate::plan::Operation::PutConnectorConfig {
                name: "gameplay-kusto-sink".into(),
                config: Default::default(),
            }],
            phase: crate::plan::Phase::Connectors,
            ..drop_column()
        };
        saved(vec![
            kusto_change(
                "kusto.db.table.GamePlay",
                vec![
                    render::rename_table("Plays", "GamePlay"),
                    render::rename_column("GamePlay", "Points", "Score"),
                    render::alter_merge_table(
                        "GamePlay",
                        &[("Level", crate::model::ColumnType::String)],
                    ),
                ],
            ),
            kusto_change(
                "kusto.db.function.RecentPlays",
                vec![render::drop_function("RecentPlays")],
            ),
            kusto_change(
                "kusto.db.materialized-view.TopScores",
                vec![render::drop_materialized_view("TopScores")],
            ),
            sink,
        ])
    }

    /// Plans hold typed commands, files hold their text: a saved plan reads back to equal
    /// changes, and its `commands` are the text plans have always shown (from the planner's
    /// tests' expectations).
    #[test]
    fn typed_commands_are_written_as_the_known_text_and_read_back_equal() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("typed.plan");
        let file = typed_plan();
        write(&path, &file).expect("write");
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
        let commands: Vec<&serde_json::Value> = json["plan"]["changes"]
            .as_array()
            .expect("changes")
            .iter()
            .map(|c| &c["commands"])
            .collect();
        assert_eq!(
            commands,
            [
                &serde_json::json!([
                    ".rename table Plays to GamePlay",
                    ".rename column GamePlay.Points to Score",
                    ".alter-merge table GamePlay (Level:string)"
                ]),
                &serde_json::json!([".drop function RecentPlays ifexists"]),
                &serde_json::json!([".drop materialized-view TopScores"]),
                &serde_json::json!([
                    "PUT /connector-plugins/KustoSinkConnector/config/validate, then PUT /connectors/gameplay-kusto-sink/config"
                ]),
            ]
        );
        assert_eq!(read(&path), Ok(file));
    }

    /// A command text that is not a Kusto control command, or a request text that is not what
    /// the change's request sends, cannot be typed back: the file is refused as damaged.
    #[test]
    fn an_unparsable_command_or_a_rewritten_request_is_refused_as_damaged() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("edited.plan");
        for (change, text, expected) in [
            (
                0,
                ".frobnicate table GamePlay",
                "the plan file is damaged or was edited: a command of kusto.db.table.GamePlay is not a Kusto control command",
            ),
            (
                3,
                "DELETE /connectors/gameplay-kusto-sink",
                "the plan file is damaged or was edited: the commands of connect.c.connector.gameplay-kusto-sink are not the requests it sends",
            ),
        ] {
            let mut json = serde_json::to_value(typed_plan()).expect("json");
            json["plan"]["changes"][change]["commands"][0] = text.into();
            std::fs::write(&path, json.to_string()).expect("write");
            let err = read(&path).expect_err("an edited command accepted");
            assert!(
                matches!(&err, SavedPlanError::Unreadable(m) if m.contains(expected)),
                "{err}"
            );
        }
    }

    /// A file of the previous format (3: no `before_state`/`after_state`) would compare as
    /// edited against a fresh plan; it is refused up front as another kustoplan's.
    #[test]
    fn a_plan_of_an_older_format_is_refused_as_another_kustoplans() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("old.plan");
        let mut file = saved(vec![drop_column()]);
        file.plan.version = 3;
        write(&path, &file).expect("write");
        let err = read(&path).expect_err("a format 3 plan accepted");
        assert_eq!(
            err.to_string(),
            format!(
                "{} was written by a different kustoplan (plan format 3, this one reads 4); make a new plan",
                path.display()
            )
        );
        file.plan.version = PLAN_VERSION;
        write(&path, &file).expect("write");
        assert_eq!(read(&path), Ok(file));
    }
}
