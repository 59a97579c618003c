//! `brigade recipes run|get|watch|cancel`.

use std::collections::BTreeMap;

use brigade_proto::recipetypes::v1 as pb;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde_json::{Value, json};
use tokio_stream::StreamExt;

use super::output::{self, print_fields, print_json, print_table, spin};
use super::recipe_types::summary_json;
use super::{CliError, CliResult, Connection, Outcome, json_argument};

#[derive(clap::Subcommand, Debug)]
pub enum RecipesCommand {
    /// Queues a recipe of a recipe type (by name).
    Run {
        recipe_type: String,
        /// Input data, Scale's `{"files": {…}, "json": {…}}`: JSON or @FILE.
        #[arg(long, default_value = "{}")]
        input: String,
        /// Revision of the recipe type (default: the latest).
        #[arg(long)]
        revision: Option<i64>,
        /// Configuration: JSON or @FILE.
        #[arg(long)]
        configuration: Option<String>,
        /// Follow the recipe until it ends, as `recipes watch` does.
        #[arg(long)]
        watch: bool,
    },
    /// Shows one recipe and its nodes.
    Get { id: i64 },
    /// Follows a recipe's nodes until it ends: exit 0 when COMPLETED, 1 otherwise.
    Watch { id: i64 },
    /// Cancels a recipe, its jobs and sub-recipes.
    Cancel { id: i64 },
}

pub async fn run(command: RecipesCommand, c: &Connection) -> CliResult<Outcome> {
    let mut client = c.recipe_types().await?;
    let (what, recipe) = match command {
        RecipesCommand::Watch { id } => return watch(c, &mut client, id).await,
        RecipesCommand::Run {
            recipe_type,
            input,
            revision,
            configuration,
            watch: follow,
        } => {
            let what = format!("cannot run recipe type {recipe_type}");
            let request = pb::CreateRecipeRequest {
                recipe_type_name: recipe_type,
                revision_num: revision,
                input_json: json_argument("--input", &input)?,
                configuration_json: configuration
                    .map(|t| json_argument("--configuration", &t))
                    .transpose()?,
                ..Default::default()
            };
            let recipe = spin("queueing recipe", client.create_recipe(c.request(request)))
                .await
                .map(|r| r.into_inner().recipe);
            if follow {
                let recipe = recipe
                    .map_err(|s| CliError::from_status(&what, &s))?
                    .ok_or_else(|| CliError::new(&what, "the server sent no recipe"))?;
                if !c.json {
                    println!("recipe {} queued", recipe.id);
                }
                return watch(c, &mut client, recipe.id).await;
            }
            (what, recipe)
        }
        RecipesCommand::Get { id } => {
            let what = format!("cannot get recipe {id}");
            let call = client.get_recipe(c.request(pb::GetRecipeRequest { id }));
            (what, spin("getting recipe", call).await.map(|r| r.into_inner().recipe))
        }
        RecipesCommand::Cancel { id } => {
            let what = format!("cannot cancel recipe {id}");
            let call = client.cancel_recipe(c.request(pb::CancelRecipeRequest { id }));
            (
                what,
                spin("cancelling recipe", call).await.map(|r| r.into_inner().recipe),
            )
        }
    };
    let recipe = recipe
        .map_err(|s| CliError::from_status(&what, &s))?
        .ok_or_else(|| CliError::new(&what, "the server sent no recipe"))?;
    show(c, &recipe);
    Ok(Outcome::Success)
}

async fn watch(
    c: &Connection,
    client: &mut pb::recipe_types_client::RecipeTypesClient<super::client::Authorized>,
    id: i64,
) -> CliResult<Outcome> {
    let what = format!("cannot watch recipe {id}");
    let mut stream = client
        .watch_recipe(pb::WatchRecipeRequest { id })
        .await
        .map_err(|s| CliError::from_status(&what, &s))?
        .into_inner();
    let mut view = (output::interactive() && !c.json).then(LiveView::new);
    let mut last_line = String::new();
    while let Some(message) = stream.next().await {
        let recipe = message
            .map_err(|s| CliError::from_status(&what, &s))?
            .recipe
            .ok_or_else(|| CliError::new(&what, "the server sent no recipe"))?;
        let line = summary_line(&recipe);
        if let Some(view) = &mut view {
            view.update(&recipe, &line);
        } else if c.json {
            println!("{}", recipe_json(&recipe));
        } else if line != last_line {
            println!("recipe {id} {line}");
        }
        last_line = line;
        let status = pb::RecipeStatus::try_from(recipe.status).unwrap_or(pb::RecipeStatus::Unspecified);
        if !matches!(status, pb::RecipeStatus::Running | pb::RecipeStatus::Unspecified) {
            if let Some(view) = view {
                view.finish();
            }
            return match status {
                pb::RecipeStatus::Completed => Ok(Outcome::Success),
                _ => Err(CliError::new(format!("recipe {id} ended"), status_name(recipe.status))),
            };
        }
    }
    Err(CliError::new(
        what,
        "the server ended the watch before the recipe ended",
    ))
}

/// One line per node, redrawn in place, under a line for the recipe.
struct LiveView {
    bars: MultiProgress,
    header: ProgressBar,
    nodes: BTreeMap<String, ProgressBar>,
}

impl LiveView {
    fn new() -> Self {
        let bars = MultiProgress::new();
        let header = bars.add(ProgressBar::new(0));
        header.set_style(
            ProgressStyle::with_template("{spinner} recipe [{bar:30}] {pos}/{len} jobs {msg} ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        header.enable_steady_tick(std::time::Duration::from_millis(100));
        Self {
            bars,
            header,
            nodes: BTreeMap::new(),
        }
    }

    fn update(&mut self, recipe: &pb::Recipe, line: &str) {
        let counts = recipe.counts.unwrap_or_default();
        self.header.set_length(u64::try_from(counts.jobs_total).unwrap_or(0));
        self.header
            .set_position(u64::try_from(counts.jobs_completed).unwrap_or(0));
        self.header.set_message(line.to_owned());
        for (name, kind, status) in nodes(&recipe.details_json) {
            let bar = self.nodes.entry(name.clone()).or_insert_with(|| {
                let bar = self.bars.add(ProgressBar::new_spinner());
                bar.set_style(
                    ProgressStyle::with_template("  {prefix:24} {msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                bar.set_prefix(name);
                bar
            });
            bar.set_message(format!("{kind:9} {status}"));
        }
    }

    fn finish(self) {
        self.header.finish();
        for bar in self.nodes.values() {
            bar.finish();
        }
    }
}

/// `(node, node type, status)` from Scale's recipe details JSON.
fn nodes(details_json: &str) -> Vec<(String, String, String)> {
    let details: Value = serde_json::from_str(details_json).unwrap_or(Value::Null);
    let Some(nodes) = details.get("nodes").and_then(Value::as_object) else {
        return Vec::new();
    };
    nodes
        .iter()
        .map(|(name, node)| {
            let node_type = node.get("node_type").unwrap_or(&Value::Null);
            let text = |key: &str| node_type.get(key).and_then(Value::as_str).unwrap_or("-").to_owned();
            (name.clone(), text("node_type"), text("status"))
        })
        .collect()
}

fn summary_line(recipe: &pb::Recipe) -> String {
    let counts = recipe.counts.unwrap_or_default();
    format!(
        "{} ({}/{} jobs completed, {} running, {} failed)",
        status_name(recipe.status),
        counts.jobs_completed,
        counts.jobs_total,
        counts.jobs_running,
        counts.jobs_failed
    )
}

fn show(c: &Connection, recipe: &pb::Recipe) {
    if c.json {
        print_json(&recipe_json(recipe));
        return;
    }
    let type_name = recipe.recipe_type.as_ref().map(|t| t.name.clone()).unwrap_or_default();
    print_fields(vec![
        ("id", recipe.id.to_string()),
        ("recipe type", format!("{type_name} rev {}", recipe.revision_num)),
        ("status", summary_line(recipe)),
        ("created", output::timestamp_cell(recipe.created.as_ref())),
        ("completed", output::timestamp_cell(recipe.completed.as_ref())),
        ("input", output::compact(&recipe.input_json)),
    ]);
    let rows: Vec<_> = nodes(&recipe.details_json)
        .into_iter()
        .map(|(name, kind, status)| vec![name, kind, status])
        .collect();
    if !rows.is_empty() {
        print_table(&["NODE", "TYPE", "STATUS"], rows);
    }
}

fn status_name(status: i32) -> &'static str {
    match pb::RecipeStatus::try_from(status) {
        Ok(pb::RecipeStatus::Running) => "RUNNING",
        Ok(pb::RecipeStatus::Completed) => "COMPLETED",
        Ok(pb::RecipeStatus::Failed) => "FAILED",
        Ok(pb::RecipeStatus::Canceled) => "CANCELED",
        _ => "UNKNOWN",
    }
}

fn recipe_json(r: &pb::Recipe) -> Value {
    let counts = r.counts.unwrap_or_default();
    json!({
        "id": r.id,
        "recipe_type": summary_json(r.recipe_type.as_ref()),
        "recipe_type_rev_id": r.recipe_type_rev_id,
        "revision_num": r.revision_num,
        "parent_recipe_id": r.parent_recipe_id,
        "is_superseded": r.is_superseded,
        "status": status_name(r.status),
        "input": output::json_text(&r.input_json),
        "configuration": output::json_text(&r.configuration_json),
        "jobs_total": counts.jobs_total,
        "jobs_pending": counts.jobs_pending,
        "jobs_blocked": counts.jobs_blocked,
        "jobs_queued": counts.jobs_queued,
        "jobs_running": counts.jobs_running,
        "jobs_failed": counts.jobs_failed,
        "jobs_completed": counts.jobs_completed,
        "jobs_canceled": counts.jobs_canceled,
        "sub_recipes_total": counts.sub_recipes_total,
        "sub_recipes_completed": counts.sub_recipes_completed,
        "created": output::timestamp_json(r.created.as_ref()),
        "completed": output::timestamp_json(r.completed.as_ref()),
        "last_modified": output::timestamp_json(r.last_modified.as_ref()),
        "details": output::json_text(&r.details_json),
    })
}
