//! Rows and SQL of the recipe tables, shared by both drivers (the dialects
//! agree on all of it but row locking, which each driver adds).

use crate::engine::RecipeCounts;
use crate::error::{Error, Result};
use crate::recipe::{NodeKindTag, NodeRecord, NodeRowState, Recipe, RecipeFilter, parse_recipe_status};

/// A `rt_recipes` row.
#[derive(sqlx::FromRow)]
pub(super) struct RecipeRow {
    id: i64,
    recipe_type_id: i64,
    revision_id: i64,
    revision_num: i64,
    input: String,
    configuration: String,
    status: String,
    counts: String,
    canceled: bool,
    parent_recipe_id: Option<i64>,
    parent_node: Option<String>,
    root_recipe_id: Option<i64>,
    is_superseded: bool,
    superseded_recipe_id: Option<i64>,
    superseded_by_recipe_id: Option<i64>,
    needs_step: bool,
    created: i64,
    started: Option<i64>,
    completed: Option<i64>,
    ended: Option<i64>,
    superseded: Option<i64>,
    last_modified: i64,
    row_version: i64,
}

impl TryFrom<RecipeRow> for Recipe {
    type Error = Error;

    fn try_from(r: RecipeRow) -> Result<Self> {
        Ok(Self {
            status: parse_recipe_status(&r.status)?,
            counts: serde_json::from_str::<RecipeCounts>(&r.counts).map_err(|e| Error::Internal(e.to_string()))?,
            id: r.id,
            recipe_type_id: r.recipe_type_id,
            revision_id: r.revision_id,
            revision_num: r.revision_num,
            input: r.input,
            configuration: r.configuration,
            canceled: r.canceled,
            parent_recipe_id: r.parent_recipe_id,
            parent_node: r.parent_node,
            root_recipe_id: r.root_recipe_id,
            is_superseded: r.is_superseded,
            superseded_recipe_id: r.superseded_recipe_id,
            superseded_by_recipe_id: r.superseded_by_recipe_id,
            needs_step: r.needs_step,
            created: r.created,
            started: r.started,
            completed: r.completed,
            ended: r.ended,
            superseded: r.superseded,
            last_modified: r.last_modified,
            row_version: r.row_version,
        })
    }
}

pub(super) fn recipes(rows: Vec<RecipeRow>) -> Result<Vec<Recipe>> {
    rows.into_iter().map(Recipe::try_from).collect()
}

/// A `rt_recipe_nodes` row.
#[derive(sqlx::FromRow)]
pub(super) struct NodeRow {
    recipe_id: i64,
    node_name: String,
    generation: i64,
    kind: String,
    state: String,
    idempotency_key: Option<String>,
    service_id: Option<String>,
    parameters: Option<String>,
    job_id: Option<String>,
    job_version: i64,
    results: Option<String>,
    accepted: Option<bool>,
    condition_data: Option<String>,
    child_recipe_id: Option<i64>,
    error: Option<String>,
    cancel_pending: bool,
    ready_at: Option<i64>,
    finished_at: Option<i64>,
    created: i64,
    last_modified: i64,
}

impl TryFrom<NodeRow> for NodeRecord {
    type Error = Error;

    fn try_from(r: NodeRow) -> Result<Self> {
        Ok(Self {
            kind: NodeKindTag::parse(&r.kind)?,
            state: NodeRowState::parse(&r.state)?,
            recipe_id: r.recipe_id,
            node_name: r.node_name,
            generation: r.generation,
            idempotency_key: r.idempotency_key,
            service_id: r.service_id,
            parameters: r.parameters,
            job_id: r.job_id,
            job_version: r.job_version,
            results: r.results,
            accepted: r.accepted,
            condition_data: r.condition_data,
            child_recipe_id: r.child_recipe_id,
            error: r.error,
            cancel_pending: r.cancel_pending,
            ready_at: r.ready_at,
            finished_at: r.finished_at,
            created: r.created,
            last_modified: r.last_modified,
        })
    }
}

pub(super) fn nodes(rows: Vec<NodeRow>) -> Result<Vec<NodeRecord>> {
    rows.into_iter().map(NodeRecord::try_from).collect()
}

pub(super) fn counts_json(r: &Recipe) -> String {
    serde_json::to_string(&r.counts).unwrap_or_else(|_| "{}".to_owned())
}

pub(super) const RECIPE_COLUMNS: &str = "id, recipe_type_id, revision_id, revision_num, input, configuration, \
     status, counts, canceled, parent_recipe_id, parent_node, root_recipe_id, is_superseded, \
     superseded_recipe_id, superseded_by_recipe_id, needs_step, created, started, completed, ended, superseded, \
     last_modified, row_version";

pub(super) const INSERT_RECIPE: &str = "INSERT INTO rt_recipes (recipe_type_id, revision_id, revision_num, input, \
     configuration, status, counts, canceled, parent_recipe_id, parent_node, root_recipe_id, is_superseded, \
     superseded_recipe_id, superseded_by_recipe_id, needs_step, created, started, completed, ended, superseded, \
     last_modified, row_version) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, 1) \
     RETURNING id";

pub(super) const UPDATE_RECIPE: &str = "UPDATE rt_recipes SET status = $2, counts = $3, canceled = $4, \
     is_superseded = $5, superseded_by_recipe_id = $6, needs_step = $7, started = $8, completed = $9, ended = $10, \
     superseded = $11, last_modified = $12, root_recipe_id = $13, row_version = row_version + 1 WHERE id = $1";

pub(super) const MARK_NEEDS_STEP: &str = "UPDATE rt_recipes SET needs_step = TRUE WHERE id = $1";

pub(super) const SELECT_TO_STEP: &str = "SELECT id FROM rt_recipes WHERE needs_step ORDER BY id LIMIT $1";

pub(super) const SELECT_TYPE_BY_ID: &str = "SELECT id, name, title, description, is_active, is_system, revision_num, \
     definition, created, deprecated, last_modified, row_version FROM rt_recipe_types WHERE id = $1";

pub(super) const NODE_COLUMNS: &str = "recipe_id, node_name, generation, kind, state, idempotency_key, service_id, \
     parameters, job_id, job_version, results, accepted, condition_data, child_recipe_id, error, cancel_pending, \
     ready_at, finished_at, created, last_modified";

const NODE_INSERT: &str = "INSERT INTO rt_recipe_nodes (recipe_id, node_name, generation, kind, state, \
     idempotency_key, service_id, parameters, job_id, job_version, results, accepted, condition_data, \
     child_recipe_id, error, cancel_pending, ready_at, finished_at, created, last_modified) VALUES ";
const NODE_UPSERT: &str = " ON CONFLICT (recipe_id, node_name) DO UPDATE SET generation = excluded.generation, \
     kind = excluded.kind, state = excluded.state, idempotency_key = excluded.idempotency_key, \
     service_id = excluded.service_id, parameters = excluded.parameters, job_id = excluded.job_id, \
     job_version = excluded.job_version, results = excluded.results, accepted = excluded.accepted, \
     condition_data = excluded.condition_data, child_recipe_id = excluded.child_recipe_id, error = excluded.error, \
     cancel_pending = excluded.cancel_pending, ready_at = excluded.ready_at, finished_at = excluded.finished_at, \
     last_modified = excluded.last_modified";
/// Columns of a node row, as bound by the drivers' `bind_node`.
const NODE_COLUMNS_BOUND: usize = 20;
/// Node rows per upsert statement (20 parameters each).
pub(super) const NODE_CHUNK: usize = 200;

/// Inserts or replaces `n` node rows in one statement.
pub(super) fn upsert_nodes_sql(n: usize) -> String {
    let rows: Vec<String> = (0..n)
        .map(|row| {
            let params: Vec<String> = (1..=NODE_COLUMNS_BOUND)
                .map(|col| format!("${}", row * NODE_COLUMNS_BOUND + col))
                .collect();
            format!("({})", params.join(", "))
        })
        .collect();
    format!("{NODE_INSERT}{}{NODE_UPSERT}", rows.join(", "))
}

/// Records `n` notice ids (`$2` …) applied at `$1`; returns the ids not recorded before.
pub(super) fn record_notices_sql(n: usize) -> String {
    let rows: Vec<String> = (0..n).map(|i| format!("(${}, $1)", i + 2)).collect();
    format!(
        "INSERT INTO rt_processed_notices (notice_id, processed) VALUES {} ON CONFLICT DO NOTHING RETURNING notice_id",
        rows.join(", ")
    )
}

pub(super) fn select_recipe_sql(lock: &str) -> String {
    format!("SELECT {RECIPE_COLUMNS} FROM rt_recipes WHERE id = $1 {lock}")
}

pub(super) fn select_children_sql() -> String {
    format!("SELECT {RECIPE_COLUMNS} FROM rt_recipes WHERE parent_recipe_id = $1 ORDER BY id")
}

pub(super) fn select_nodes_sql() -> String {
    format!("SELECT {NODE_COLUMNS} FROM rt_recipe_nodes WHERE recipe_id = $1 ORDER BY node_name")
}

pub(super) fn select_unfinished_sql() -> String {
    format!(
        "SELECT {NODE_COLUMNS} FROM rt_recipe_nodes WHERE ((state = 'CREATING' AND job_id IS NULL) OR cancel_pending) \
         AND last_modified <= $1 ORDER BY recipe_id, node_name LIMIT $2"
    )
}

/// A value the list filter binds, in placeholder order.
pub(super) enum Bind {
    Int(i64),
    Text(String),
    Bool(bool),
}

/// The list queries (count, page) and their binds; limit and offset bind last.
pub(super) fn list_recipes_sql(filter: &RecipeFilter) -> (String, String, Vec<Bind>) {
    let mut clauses = Vec::new();
    let mut binds = Vec::new();
    let any_of = |column: &str, values: Vec<Bind>, clauses: &mut Vec<String>, binds: &mut Vec<Bind>| {
        if values.is_empty() {
            return;
        }
        let start = binds.len();
        let placeholders: Vec<String> = (1..=values.len()).map(|i| format!("${}", start + i)).collect();
        clauses.push(format!("{column} IN ({})", placeholders.join(", ")));
        binds.extend(values);
    };
    any_of(
        "id",
        filter.recipe_ids.iter().map(|v| Bind::Int(*v)).collect(),
        &mut clauses,
        &mut binds,
    );
    any_of(
        "recipe_type_id",
        filter.recipe_type_ids.iter().map(|v| Bind::Int(*v)).collect(),
        &mut clauses,
        &mut binds,
    );
    any_of(
        "status",
        filter
            .statuses
            .iter()
            .map(|s| Bind::Text(s.as_str().to_owned()))
            .collect(),
        &mut clauses,
        &mut binds,
    );
    any_of(
        "root_recipe_id",
        filter.root_recipe_ids.iter().map(|v| Bind::Int(*v)).collect(),
        &mut clauses,
        &mut binds,
    );
    if let Some(started) = filter.started {
        binds.push(Bind::Int(started));
        clauses.push(format!("created >= ${}", binds.len()));
    }
    if let Some(ended) = filter.ended {
        binds.push(Bind::Int(ended));
        clauses.push(format!("created <= ${}", binds.len()));
    }
    if let Some(superseded) = filter.is_superseded {
        binds.push(Bind::Bool(superseded));
        clauses.push(format!("is_superseded = ${}", binds.len()));
    }
    match filter.is_completed {
        Some(true) => clauses.push("status = 'COMPLETED'".to_owned()),
        Some(false) => clauses.push("status <> 'COMPLETED'".to_owned()),
        None => {}
    }
    let where_sql = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    let mut order: Vec<String> = filter
        .order
        .iter()
        .map(|(column, desc)| format!("{} {}", column.sql(), if *desc { "DESC" } else { "ASC" }))
        .collect();
    order.push("id ASC".to_owned());
    let count = format!("SELECT COUNT(*) FROM rt_recipes {where_sql}");
    let page = format!(
        "SELECT {RECIPE_COLUMNS} FROM rt_recipes {where_sql} ORDER BY {} LIMIT ${} OFFSET ${}",
        order.join(", "),
        binds.len() + 1,
        binds.len() + 2
    );
    (count, page, binds)
}

/// Not found is `None`; a stored row that cannot be read is corruption.
pub(super) fn one(row: Option<RecipeRow>) -> Result<Option<Recipe>> {
    row.map(Recipe::try_from).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::RecipeStatus;

    #[test]
    fn list_sql_numbers_placeholders_in_bind_order() {
        let filter = RecipeFilter {
            recipe_type_ids: vec![3, 4],
            statuses: vec![RecipeStatus::Failed],
            is_superseded: Some(false),
            is_completed: Some(false),
            order: vec![(crate::recipe::RecipeOrder::Created, true)],
            ..RecipeFilter::default()
        };
        let (count, page, binds) = list_recipes_sql(&filter);
        assert!(count.contains("recipe_type_id IN ($1, $2)") && count.contains("status IN ($3)"));
        assert!(count.contains("is_superseded = $4") && count.contains("status <> 'COMPLETED'"));
        assert!(page.ends_with("ORDER BY created DESC, id ASC LIMIT $5 OFFSET $6"));
        assert_eq!(binds.len(), 4);
    }
}
