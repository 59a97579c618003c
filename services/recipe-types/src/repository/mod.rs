//! Storage for recipe-types. The service owns the transaction: it calls
//! [`Repository::begin`] (or [`Repository::begin_read`]), runs queries through
//! the [`Transaction`] it gets, and commits; dropping a transaction rolls it
//! back. One module per driver; the SQL text is shared where the dialects agree.

mod postgres;
mod recipes;
mod sqlite;

use async_trait::async_trait;

use crate::domain::{OrderBy, RecipeType, RecipeTypeId, Revision};
use crate::error::Result;
use crate::recipe::{NodeRecord, Recipe, RecipeFilter};

pub use postgres::PostgresRepository;
pub use sqlite::SqliteRepository;

/// What a definition uses, kept in link tables for reverse look-ups.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Links {
    pub job_types: Vec<(String, String)>,
    pub sub_recipes: Vec<String>,
}

#[derive(Clone, Debug, Default)]
pub struct ListFilter {
    pub keywords: Vec<String>,
    pub is_active: Option<bool>,
    pub is_system: Option<bool>,
    pub order: Vec<OrderBy>,
}

#[async_trait]
pub trait Repository: Send + Sync + 'static {
    async fn migrate(&self) -> Result<()>;
    async fn ping(&self) -> Result<()>;
    /// A transaction that will write. SQLite takes its write lock up front
    /// (`BEGIN IMMEDIATE`), so two writers never deadlock upgrading a read lock.
    async fn begin(&self) -> Result<Box<dyn Transaction>>;
    /// A transaction that only reads: one consistent view for a request.
    async fn begin_read(&self) -> Result<Box<dyn Transaction>>;
    /// (open connections, idle connections) of the pool.
    fn pool_stats(&self) -> (u32, usize);
    /// Whether a write transaction holds the whole database (SQLite's one
    /// write lock) rather than the rows it locked: then nothing may wait on
    /// another service inside one.
    fn single_writer(&self) -> bool {
        false
    }
}

/// The queries, run inside one transaction.
#[async_trait]
pub trait Transaction: Send {
    /// Inserts the type, its revision 1 and its links; `None` when the name is taken.
    async fn create(&mut self, recipe_type: &RecipeType, links: &Links) -> Result<Option<RecipeType>>;
    async fn get(&mut self, name: &str) -> Result<Option<RecipeType>>;
    async fn get_many(&mut self, names: &[String]) -> Result<Vec<RecipeType>>;
    /// (total matching, one page).
    async fn list(&mut self, filter: &ListFilter, offset: i64, limit: i64) -> Result<(i64, Vec<RecipeType>)>;
    /// Writes `updated` over the row still at `updated.row_version`, and returns
    /// the row as written (its row version one more); `None`, writing nothing,
    /// when the row moved on. With `new_revision`, also stores revision
    /// `updated.revision_num` and replaces the links.
    async fn update(&mut self, updated: &RecipeType, new_revision: Option<&Links>) -> Result<Option<RecipeType>>;
    /// Newest first.
    async fn list_revisions(&mut self, id: RecipeTypeId, offset: i64, limit: i64) -> Result<(i64, Vec<Revision>)>;
    async fn get_revision(&mut self, id: RecipeTypeId, revision_num: i64) -> Result<Option<Revision>>;
    /// Types whose current definition has a sub-recipe node on `name`.
    async fn parents_of(&mut self, name: &str) -> Result<Vec<RecipeType>>;
    /// Types whose current definition has a job node on (name, version).
    async fn using_job_type(&mut self, name: &str, version: &str) -> Result<Vec<RecipeType>>;
    async fn notice_seen(&mut self, notice_id: &str) -> Result<bool>;
    async fn record_notice(&mut self, notice_id: &str, at: i64) -> Result<()>;
    /// Records the notices as applied at `at`; returns those not recorded
    /// before (the ones to apply), in one statement per chunk.
    async fn record_notices(&mut self, notice_ids: &[&str], at: i64) -> Result<Vec<String>>;
    /// Forgets notices applied before `before` (a redelivery comes within
    /// seconds of the first delivery, never days later); returns how many.
    async fn purge_notices(&mut self, before: i64) -> Result<u64>;

    // Recipes.
    async fn get_type_by_id(&mut self, id: RecipeTypeId) -> Result<Option<RecipeType>>;
    /// Inserts the recipe (its `id` is ignored) and returns the new id.
    async fn insert_recipe(&mut self, recipe: &Recipe) -> Result<i64>;
    async fn get_recipe(&mut self, id: i64) -> Result<Option<Recipe>>;
    /// The recipe, locked until commit. With `skip_locked`, `None` when
    /// another transaction holds it (PostgreSQL `FOR UPDATE SKIP LOCKED`;
    /// SQLite holds the database's write lock already).
    async fn lock_recipe(&mut self, id: i64, skip_locked: bool) -> Result<Option<Recipe>>;
    /// Writes the recipe's mutable fields and bumps its row version.
    async fn update_recipe(&mut self, recipe: &Recipe) -> Result<()>;
    async fn mark_needs_step(&mut self, id: i64) -> Result<()>;
    /// Ids of recipes with an event not yet stepped on, oldest first.
    async fn recipes_to_step(&mut self, limit: i64) -> Result<Vec<i64>>;
    async fn list_recipes(&mut self, filter: &RecipeFilter, offset: i64, limit: i64) -> Result<(i64, Vec<Recipe>)>;
    async fn children(&mut self, parent_id: i64) -> Result<Vec<Recipe>>;
    async fn nodes(&mut self, recipe_id: i64) -> Result<Vec<NodeRecord>>;
    /// Inserts or replaces the node row.
    async fn put_node(&mut self, node: &NodeRecord) -> Result<()> {
        self.put_nodes(&[node]).await
    }
    /// Inserts or replaces the node rows, in one statement per chunk.
    async fn put_nodes(&mut self, nodes: &[&NodeRecord]) -> Result<()>;
    /// Job intents whose job id is unknown and cancels not yet sent, last
    /// touched at or before `before`.
    async fn unfinished_nodes(&mut self, before: i64, limit: i64) -> Result<Vec<NodeRecord>>;
    async fn commit(self: Box<Self>) -> Result<()>;
}

/// A `rt_recipe_types` row.
#[derive(sqlx::FromRow)]
struct RecipeTypeRow {
    id: i64,
    name: String,
    title: String,
    description: Option<String>,
    is_active: bool,
    is_system: bool,
    revision_num: i64,
    definition: String,
    created: i64,
    deprecated: Option<i64>,
    last_modified: i64,
    row_version: i64,
}

impl From<RecipeTypeRow> for RecipeType {
    fn from(row: RecipeTypeRow) -> Self {
        Self {
            id: RecipeTypeId(row.id),
            name: row.name,
            title: row.title,
            description: row.description,
            is_active: row.is_active,
            is_system: row.is_system,
            revision_num: row.revision_num,
            definition: row.definition,
            created: row.created,
            deprecated: row.deprecated,
            last_modified: row.last_modified,
            row_version: row.row_version,
        }
    }
}

/// A `rt_revisions` row.
#[derive(sqlx::FromRow)]
struct RevisionRow {
    id: i64,
    recipe_type_id: i64,
    revision_num: i64,
    definition: String,
    created: i64,
}

impl From<RevisionRow> for Revision {
    fn from(row: RevisionRow) -> Self {
        Self {
            id: row.id,
            recipe_type_id: RecipeTypeId(row.recipe_type_id),
            revision_num: row.revision_num,
            definition: row.definition,
            created: row.created,
        }
    }
}

fn types(rows: Vec<RecipeTypeRow>) -> Vec<RecipeType> {
    rows.into_iter().map(RecipeType::from).collect()
}

const MIGRATIONS_TABLE: &str = "_brigade_recipe_types_migrations";

const TYPE_COLUMNS: &str = "id, name, title, description, is_active, is_system, revision_num, definition, \
     created, deprecated, last_modified, row_version";

const INSERT_TYPE: &str = "INSERT INTO rt_recipe_types (name, title, description, is_active, is_system, \
     revision_num, definition, created, deprecated, last_modified, row_version) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1) ON CONFLICT (name) DO NOTHING \
     RETURNING id, name, title, description, is_active, is_system, revision_num, definition, \
     created, deprecated, last_modified, row_version";
const SELECT_BY_NAME: &str = "SELECT id, name, title, description, is_active, is_system, revision_num, definition, \
     created, deprecated, last_modified, row_version FROM rt_recipe_types WHERE name = $1";
const UPDATE_TYPE: &str = "UPDATE rt_recipe_types SET title = $2, description = $3, is_active = $4, \
     revision_num = $5, definition = $6, deprecated = $7, last_modified = $8, row_version = row_version + 1 \
     WHERE id = $1 AND row_version = $9";
const INSERT_REVISION: &str =
    "INSERT INTO rt_revisions (recipe_type_id, revision_num, definition, created) VALUES ($1, $2, $3, $4)";
const DELETE_JOB_LINKS: &str = "DELETE FROM rt_job_links WHERE recipe_type_id = $1";
const DELETE_SUB_LINKS: &str = "DELETE FROM rt_sub_links WHERE recipe_type_id = $1";
const INSERT_JOB_LINK: &str = "INSERT INTO rt_job_links (recipe_type_id, job_type_name, job_type_version) \
     VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
const INSERT_SUB_LINK: &str =
    "INSERT INTO rt_sub_links (recipe_type_id, sub_name) VALUES ($1, $2) ON CONFLICT DO NOTHING";
const COUNT_REVISIONS: &str = "SELECT COUNT(*) FROM rt_revisions WHERE recipe_type_id = $1";
const PAGE_REVISIONS: &str = "SELECT id, recipe_type_id, revision_num, definition, created FROM rt_revisions \
     WHERE recipe_type_id = $1 ORDER BY revision_num DESC LIMIT $2 OFFSET $3";
const SELECT_REVISION: &str = "SELECT id, recipe_type_id, revision_num, definition, created FROM rt_revisions \
     WHERE recipe_type_id = $1 AND revision_num = $2";
const SELECT_PARENTS: &str = "SELECT t.id, t.name, t.title, t.description, t.is_active, t.is_system, \
     t.revision_num, t.definition, t.created, t.deprecated, t.last_modified, t.row_version \
     FROM rt_recipe_types t JOIN rt_sub_links l ON l.recipe_type_id = t.id \
     WHERE l.sub_name = $1 ORDER BY lower(t.name), t.id";
const SELECT_USING_JOB_TYPE: &str = "SELECT t.id, t.name, t.title, t.description, t.is_active, t.is_system, \
     t.revision_num, t.definition, t.created, t.deprecated, t.last_modified, t.row_version \
     FROM rt_recipe_types t JOIN rt_job_links l ON l.recipe_type_id = t.id \
     WHERE l.job_type_name = $1 AND l.job_type_version = $2 ORDER BY lower(t.name), t.id";
const SELECT_NOTICE: &str = "SELECT notice_id FROM rt_processed_notices WHERE notice_id = $1";
const PURGE_NOTICES: &str = "DELETE FROM rt_processed_notices WHERE processed < $1";
/// Notice ids per insert statement.
const NOTICE_CHUNK: usize = 500;
const INSERT_NOTICE: &str =
    "INSERT INTO rt_processed_notices (notice_id, processed) VALUES ($1, $2) ON CONFLICT DO NOTHING";

/// `SELECT ... WHERE name IN ($1, ..., $n)` for `n` names.
fn get_many_sql(n: usize) -> String {
    let placeholders: Vec<String> = (1..=n).map(|i| format!("${i}")).collect();
    format!(
        "SELECT {TYPE_COLUMNS} FROM rt_recipe_types WHERE name IN ({}) ORDER BY lower(name), id",
        placeholders.join(", ")
    )
}

/// `%keyword%` for LIKE, with LIKE's own wildcards escaped.
fn like_pattern(keyword: &str) -> String {
    let escaped = keyword
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// The list queries: (count, page). Only whitelisted column expressions and
/// numbered placeholders go into the SQL text; the filter's values bind in
/// order (keywords, is_active, is_system), then limit and offset for the page.
fn list_sql(filter: &ListFilter) -> (String, String) {
    let mut clauses = Vec::new();
    let mut n = 0;
    if !filter.keywords.is_empty() {
        let ors: Vec<String> = filter
            .keywords
            .iter()
            .map(|_| {
                n += 1;
                format!(
                    "lower(name) LIKE ${n} ESCAPE '\\' OR lower(title) LIKE ${n} ESCAPE '\\' \
                     OR lower(COALESCE(description, '')) LIKE ${n} ESCAPE '\\'"
                )
            })
            .collect();
        clauses.push(format!("({})", ors.join(" OR ")));
    }
    if filter.is_active.is_some() {
        n += 1;
        clauses.push(format!("is_active = ${n}"));
    }
    if filter.is_system.is_some() {
        n += 1;
        clauses.push(format!("is_system = ${n}"));
    }
    let where_sql = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    let mut order: Vec<String> = filter
        .order
        .iter()
        .map(|o| format!("{} {}", o.field.sql(), if o.descending { "DESC" } else { "ASC" }))
        .collect();
    order.push("id ASC".to_owned());
    let count = format!("SELECT COUNT(*) FROM rt_recipe_types {where_sql}");
    let page = format!(
        "SELECT {TYPE_COLUMNS} FROM rt_recipe_types {where_sql} ORDER BY {} LIMIT ${} OFFSET ${}",
        order.join(", "),
        n + 1,
        n + 2
    );
    (count, page)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::OrderField;

    #[test]
    fn list_sql_numbers_placeholders_in_bind_order() {
        let filter = ListFilter {
            keywords: vec!["a".into(), "b".into()],
            is_active: Some(true),
            is_system: None,
            order: vec![OrderBy {
                field: OrderField::Title,
                descending: true,
            }],
        };
        let (count, page) = list_sql(&filter);
        assert!(count.contains("$2") && count.contains("is_active = $3"));
        assert!(page.ends_with("ORDER BY lower(title) DESC, id ASC LIMIT $4 OFFSET $5"));
        assert_eq!(like_pattern("10%_x\\"), "%10\\%\\_x\\\\%");
    }
}
