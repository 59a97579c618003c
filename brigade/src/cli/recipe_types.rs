//! `brigade recipe-types list|get|validate FILE|create|update`.

use brigade_proto::recipetypes::v1 as pb;
use serde_json::{Value, json};

use super::output::{self, print_fields, print_json, print_table, spin};
use super::{CliError, CliResult, Connection, Outcome, json_argument};

#[derive(clap::Subcommand, Debug)]
pub enum RecipeTypesCommand {
    /// Lists recipe types.
    List {
        /// Only types whose name or title contains one of these words.
        #[arg(long = "keyword")]
        keywords: Vec<String>,
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
    /// Shows one recipe type and its definition.
    Get { name: String },
    /// Validates a definition file (Scale's definition JSON, or `{"definition": …}`);
    /// exit 1 when it has errors.
    Validate {
        file: std::path::PathBuf,
        /// Validate as an update of this recipe type (shows the diff).
        #[arg(long)]
        name: Option<String>,
    },
    /// Creates a recipe type.
    Create {
        #[arg(long)]
        title: String,
        #[arg(long)]
        description: Option<String>,
        /// The definition: JSON or @FILE.
        #[arg(long)]
        definition: String,
    },
    /// Updates a recipe type (a new revision when the definition changes).
    Update {
        name: String,
        #[arg(long)]
        title: Option<String>,
        #[arg(long)]
        description: Option<String>,
        /// The new definition: JSON or @FILE.
        #[arg(long)]
        definition: Option<String>,
        /// Move parent recipe types to the new revision.
        #[arg(long = "auto-update")]
        auto_update: bool,
        /// Activate (true) or deactivate (false).
        #[arg(long)]
        active: Option<bool>,
    },
}

pub async fn run(command: RecipeTypesCommand, c: &Connection) -> CliResult<Outcome> {
    let mut client = c.recipe_types().await?;
    match command {
        RecipeTypesCommand::List { keywords, limit } => {
            let request = pb::ListRecipeTypesRequest {
                keywords,
                limit,
                ..Default::default()
            };
            let page = spin("listing recipe types", client.list_recipe_types(c.request(request)))
                .await
                .map_err(|s| CliError::from_status("cannot list recipe types", &s))?
                .into_inner();
            if c.json {
                print_json(&json!({
                    "count": page.count,
                    "results": page.recipe_types.iter().map(|t| {
                        let mut v = summary_json(t.summary.as_ref());
                        v["job_types"] = t.job_types.iter().map(|j| json!({"name": j.name, "version": j.version})).collect();
                        v["sub_recipe_types"] = json!(t.sub_recipe_types);
                        v
                    }).collect::<Vec<_>>(),
                }));
            } else {
                print_table(
                    &["NAME", "TITLE", "REV", "ACTIVE", "JOB TYPES", "LAST MODIFIED"],
                    page.recipe_types
                        .iter()
                        .map(|t| {
                            let s = t.summary.clone().unwrap_or_default();
                            let jobs: Vec<_> = t
                                .job_types
                                .iter()
                                .map(|j| format!("{} {}", j.name, j.version))
                                .collect();
                            vec![
                                s.name,
                                s.title,
                                s.revision_num.to_string(),
                                s.is_active.to_string(),
                                jobs.join(", "),
                                output::timestamp_cell(s.last_modified.as_ref()),
                            ]
                        })
                        .collect(),
                );
            }
            Ok(Outcome::Success)
        }
        RecipeTypesCommand::Get { name } => {
            let what = format!("cannot get recipe type {name}");
            let details = spin(
                "getting recipe type",
                client.get_recipe_type(c.request(pb::GetRecipeTypeRequest { name })),
            )
            .await
            .map_err(|s| CliError::from_status(&what, &s))?
            .into_inner()
            .recipe_type;
            show(c, details, &what)
        }
        RecipeTypesCommand::Validate { file, name } => {
            let what = format!("cannot validate {}", file.display());
            let text = std::fs::read_to_string(&file).map_err(|e| CliError::new(&what, e.to_string()))?;
            let definition = unwrap_definition(&file.display().to_string(), text)?;
            let request = pb::ValidateRecipeTypeRequest {
                name,
                definition_json: definition,
            };
            let result = spin("validating", client.validate_recipe_type(c.request(request)))
                .await
                .map_err(|s| CliError::from_status(&what, &s))?
                .into_inner()
                .result
                .unwrap_or_default();
            print_validation(c, &result);
            Ok(if result.is_valid {
                Outcome::Success
            } else {
                Outcome::Failed
            })
        }
        RecipeTypesCommand::Create {
            title,
            description,
            definition,
        } => {
            let what = "cannot create recipe type";
            let request = pb::CreateRecipeTypeRequest {
                title,
                description,
                definition_json: definition_argument(&definition)?,
            };
            let details = spin("creating recipe type", client.create_recipe_type(c.request(request)))
                .await
                .map_err(|s| CliError::from_status(what, &s))?
                .into_inner()
                .recipe_type;
            show(c, details, what)
        }
        RecipeTypesCommand::Update {
            name,
            title,
            description,
            definition,
            auto_update,
            active,
        } => {
            let what = format!("cannot update recipe type {name}");
            let request = pb::UpdateRecipeTypeRequest {
                name,
                title,
                description,
                definition_json: definition.as_deref().map(definition_argument).transpose()?,
                auto_update,
                is_active: active,
            };
            let result = spin("updating recipe type", client.update_recipe_type(c.request(request)))
                .await
                .map_err(|s| CliError::from_status(&what, &s))?
                .into_inner()
                .result
                .unwrap_or_default();
            print_validation(c, &result);
            Ok(if result.is_valid {
                Outcome::Success
            } else {
                Outcome::Failed
            })
        }
    }
}

/// A definition from `--definition JSON|@FILE`.
fn definition_argument(value: &str) -> CliResult<String> {
    unwrap_definition("--definition", json_argument("--definition", value)?)
}

/// The definition itself, or the `definition` of a Scale request body
/// (`{"definition": …}`), so the same file works for validate, create and update.
fn unwrap_definition(what: &str, text: String) -> CliResult<String> {
    let document: Value =
        serde_json::from_str(&text).map_err(|e| CliError::new(format!("{what} is not valid JSON"), e.to_string()))?;
    Ok(match document.get("definition") {
        Some(d) => d.to_string(),
        None => text,
    })
}

fn print_validation(c: &Connection, r: &pb::ValidationResult) {
    let messages = |list: &[pb::ValidationMessage]| -> Vec<Value> {
        list.iter()
            .map(|m| json!({"name": m.name, "description": m.description}))
            .collect()
    };
    if c.json {
        print_json(&json!({
            "is_valid": r.is_valid,
            "errors": messages(&r.errors),
            "warnings": messages(&r.warnings),
            "diff": output::json_text(&r.diff_json),
        }));
        return;
    }
    println!("{}", if r.is_valid { "valid" } else { "invalid" });
    let rows: Vec<Vec<String>> = r
        .errors
        .iter()
        .map(|m| ("error", m))
        .chain(r.warnings.iter().map(|m| ("warning", m)))
        .map(|(kind, m)| vec![kind.to_owned(), m.name.clone(), m.description.clone()])
        .collect();
    if !rows.is_empty() {
        print_table(&["KIND", "NAME", "DESCRIPTION"], rows);
    }
    if !matches!(r.diff_json.trim(), "" | "{}") {
        println!("diff: {}", output::compact(&r.diff_json));
    }
}

fn show(c: &Connection, details: Option<pb::RecipeTypeDetails>, what: &str) -> CliResult<Outcome> {
    let d = details.ok_or_else(|| CliError::new(what, "the server sent no recipe type"))?;
    let job_types: Vec<_> = d
        .job_types
        .iter()
        .map(|j| format!("{} {} rev {}", j.name, j.version, j.revision_num))
        .collect();
    let subs: Vec<_> = d.sub_recipe_types.iter().map(|s| s.name.clone()).collect();
    if c.json {
        let mut v = summary_json(d.summary.as_ref());
        v["definition"] = output::json_text(&d.definition_json);
        v["job_types"] = json!(job_types);
        v["sub_recipe_types"] = json!(subs);
        print_json(&v);
        return Ok(Outcome::Success);
    }
    let s = d.summary.clone().unwrap_or_default();
    print_fields(vec![
        ("id", s.id.to_string()),
        ("name", s.name),
        ("title", s.title),
        ("description", output::optional(s.description)),
        ("revision", s.revision_num.to_string()),
        ("active", s.is_active.to_string()),
        ("created", output::timestamp_cell(s.created.as_ref())),
        ("last modified", output::timestamp_cell(s.last_modified.as_ref())),
        ("job types", job_types.join(", ")),
        ("sub-recipe types", subs.join(", ")),
        ("definition", output::compact(&d.definition_json)),
    ]);
    Ok(Outcome::Success)
}

pub fn summary_json(s: Option<&pb::RecipeTypeSummary>) -> Value {
    let s = s.cloned().unwrap_or_default();
    json!({
        "id": s.id,
        "name": s.name,
        "title": s.title,
        "description": s.description,
        "is_active": s.is_active,
        "is_system": s.is_system,
        "revision_num": s.revision_num,
        "created": output::timestamp_json(s.created.as_ref()),
        "deprecated": output::timestamp_json(s.deprecated.as_ref()),
        "last_modified": output::timestamp_json(s.last_modified.as_ref()),
    })
}
