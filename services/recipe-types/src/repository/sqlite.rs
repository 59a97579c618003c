//! Recipe-types storage on SQLite. Write transactions start with
//! `BEGIN IMMEDIATE`: the write lock is taken up front, so a second writer
//! waits (busy timeout) instead of failing to upgrade a read lock.

use async_trait::async_trait;
use sqlx::migrate::Migrator;
use sqlx::query::QueryAs;
use sqlx::sqlite::SqliteArguments;
use sqlx::{AssertSqlSafe, Sqlite, SqlitePool};

use super::*;
use crate::recipe::{NodeRecord, Recipe, RecipeFilter};

/// SQLite has no row locks: a write transaction (`BEGIN IMMEDIATE`) already
/// holds the database's only write lock.
const LOCK_CLAUSES: [&str; 2] = ["", ""];
use crate::error::Error;

static MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");

/// Recipe-types storage on SQLite.
#[derive(Clone, Debug)]
pub struct SqliteRepository {
    pool: SqlitePool,
}

impl SqliteRepository {
    pub fn new(pool: SqlitePool) -> Self {
        Self { pool }
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

#[async_trait]
impl Repository for SqliteRepository {
    async fn migrate(&self) -> Result<()> {
        brigade_common::db::migrator(&MIGRATIONS, MIGRATIONS_TABLE)
            .run(&self.pool)
            .await
            .map_err(|e| Error::Internal(format!("migration failed: {e}")))
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn begin(&self) -> Result<Box<dyn Transaction>> {
        Ok(Box::new(SqliteTransaction {
            tx: self.pool.begin_with("BEGIN IMMEDIATE").await?,
        }))
    }

    async fn begin_read(&self) -> Result<Box<dyn Transaction>> {
        Ok(Box::new(SqliteTransaction {
            tx: self.pool.begin().await?,
        }))
    }

    fn pool_stats(&self) -> (u32, usize) {
        (self.pool.size(), self.pool.num_idle())
    }

    fn single_writer(&self) -> bool {
        true
    }
}

/// Binds a node row's columns in the order of `recipes::upsert_nodes_sql`.
fn bind_node<'q>(
    query: sqlx::query::Query<'q, Sqlite, SqliteArguments>,
    n: &'q NodeRecord,
) -> sqlx::query::Query<'q, Sqlite, SqliteArguments> {
    query
        .bind(n.recipe_id)
        .bind(&n.node_name)
        .bind(n.generation)
        .bind(n.kind.as_str())
        .bind(n.state.as_str())
        .bind(&n.idempotency_key)
        .bind(&n.service_id)
        .bind(&n.parameters)
        .bind(&n.job_id)
        .bind(n.job_version)
        .bind(&n.results)
        .bind(n.accepted)
        .bind(&n.condition_data)
        .bind(n.child_recipe_id)
        .bind(&n.error)
        .bind(n.cancel_pending)
        .bind(n.ready_at)
        .bind(n.finished_at)
        .bind(n.created)
        .bind(n.last_modified)
}

struct SqliteTransaction {
    tx: sqlx::Transaction<'static, Sqlite>,
}

fn bind_filter<'q, O>(
    mut query: QueryAs<'q, Sqlite, O, SqliteArguments>,
    filter: &ListFilter,
) -> QueryAs<'q, Sqlite, O, SqliteArguments> {
    for keyword in &filter.keywords {
        query = query.bind(like_pattern(keyword));
    }
    if let Some(active) = filter.is_active {
        query = query.bind(active);
    }
    if let Some(system) = filter.is_system {
        query = query.bind(system);
    }
    query
}

impl SqliteTransaction {
    async fn replace_links(&mut self, id: i64, links: &Links) -> Result<()> {
        sqlx::query(DELETE_JOB_LINKS).bind(id).execute(&mut *self.tx).await?;
        sqlx::query(DELETE_SUB_LINKS).bind(id).execute(&mut *self.tx).await?;
        for (name, version) in &links.job_types {
            sqlx::query(INSERT_JOB_LINK)
                .bind(id)
                .bind(name)
                .bind(version)
                .execute(&mut *self.tx)
                .await?;
        }
        for sub in &links.sub_recipes {
            sqlx::query(INSERT_SUB_LINK)
                .bind(id)
                .bind(sub)
                .execute(&mut *self.tx)
                .await?;
        }
        Ok(())
    }

    async fn insert_revision(&mut self, id: i64, revision_num: i64, definition: &str, at: i64) -> Result<()> {
        sqlx::query(INSERT_REVISION)
            .bind(id)
            .bind(revision_num)
            .bind(definition)
            .bind(at)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }
}

#[async_trait]
impl Transaction for SqliteTransaction {
    async fn create(&mut self, rt: &RecipeType, links: &Links) -> Result<Option<RecipeType>> {
        // `ON CONFLICT DO NOTHING`: a create racing another of the same name
        // finds it taken, as one after it would, rather than a unique violation.
        let row: Option<RecipeTypeRow> = sqlx::query_as(INSERT_TYPE)
            .bind(&rt.name)
            .bind(&rt.title)
            .bind(&rt.description)
            .bind(rt.is_active)
            .bind(rt.is_system)
            .bind(rt.revision_num)
            .bind(&rt.definition)
            .bind(rt.created)
            .bind(rt.deprecated)
            .bind(rt.last_modified)
            .fetch_optional(&mut *self.tx)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let created = RecipeType::from(row);
        self.insert_revision(created.id.0, created.revision_num, &created.definition, created.created)
            .await?;
        self.replace_links(created.id.0, links).await?;
        Ok(Some(created))
    }

    async fn get(&mut self, name: &str) -> Result<Option<RecipeType>> {
        let row: Option<RecipeTypeRow> = sqlx::query_as(SELECT_BY_NAME)
            .bind(name)
            .fetch_optional(&mut *self.tx)
            .await?;
        Ok(row.map(RecipeType::from))
    }

    async fn get_many(&mut self, names: &[String]) -> Result<Vec<RecipeType>> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let mut query = sqlx::query_as(AssertSqlSafe(get_many_sql(names.len())));
        for name in names {
            query = query.bind(name.clone());
        }
        let rows: Vec<RecipeTypeRow> = query.fetch_all(&mut *self.tx).await?;
        Ok(types(rows))
    }

    async fn list(&mut self, filter: &ListFilter, offset: i64, limit: i64) -> Result<(i64, Vec<RecipeType>)> {
        let (count_sql, page_sql) = list_sql(filter);
        let (count,): (i64,) = bind_filter(sqlx::query_as(AssertSqlSafe(count_sql)), filter)
            .fetch_one(&mut *self.tx)
            .await?;
        let rows: Vec<RecipeTypeRow> = bind_filter(sqlx::query_as(AssertSqlSafe(page_sql)), filter)
            .bind(limit)
            .bind(offset)
            .fetch_all(&mut *self.tx)
            .await?;
        Ok((count, types(rows)))
    }

    async fn update(&mut self, rt: &RecipeType, new_revision: Option<&Links>) -> Result<Option<RecipeType>> {
        let done = sqlx::query(UPDATE_TYPE)
            .bind(rt.id.0)
            .bind(&rt.title)
            .bind(&rt.description)
            .bind(rt.is_active)
            .bind(rt.revision_num)
            .bind(&rt.definition)
            .bind(rt.deprecated)
            .bind(rt.last_modified)
            .bind(rt.row_version)
            .execute(&mut *self.tx)
            .await?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        if let Some(links) = new_revision {
            self.insert_revision(rt.id.0, rt.revision_num, &rt.definition, rt.last_modified)
                .await?;
            self.replace_links(rt.id.0, links).await?;
        }
        Ok(Some(RecipeType {
            row_version: rt.row_version + 1,
            ..rt.clone()
        }))
    }

    async fn list_revisions(&mut self, id: RecipeTypeId, offset: i64, limit: i64) -> Result<(i64, Vec<Revision>)> {
        let (count,): (i64,) = sqlx::query_as(COUNT_REVISIONS)
            .bind(id.0)
            .fetch_one(&mut *self.tx)
            .await?;
        let rows: Vec<RevisionRow> = sqlx::query_as(PAGE_REVISIONS)
            .bind(id.0)
            .bind(limit)
            .bind(offset)
            .fetch_all(&mut *self.tx)
            .await?;
        Ok((count, rows.into_iter().map(Revision::from).collect()))
    }

    async fn get_revision(&mut self, id: RecipeTypeId, revision_num: i64) -> Result<Option<Revision>> {
        let row: Option<RevisionRow> = sqlx::query_as(SELECT_REVISION)
            .bind(id.0)
            .bind(revision_num)
            .fetch_optional(&mut *self.tx)
            .await?;
        Ok(row.map(Revision::from))
    }

    async fn parents_of(&mut self, name: &str) -> Result<Vec<RecipeType>> {
        let rows: Vec<RecipeTypeRow> = sqlx::query_as(SELECT_PARENTS)
            .bind(name)
            .fetch_all(&mut *self.tx)
            .await?;
        Ok(types(rows))
    }

    async fn using_job_type(&mut self, name: &str, version: &str) -> Result<Vec<RecipeType>> {
        let rows: Vec<RecipeTypeRow> = sqlx::query_as(SELECT_USING_JOB_TYPE)
            .bind(name)
            .bind(version)
            .fetch_all(&mut *self.tx)
            .await?;
        Ok(types(rows))
    }

    async fn notice_seen(&mut self, notice_id: &str) -> Result<bool> {
        let row: Option<(String,)> = sqlx::query_as(SELECT_NOTICE)
            .bind(notice_id)
            .fetch_optional(&mut *self.tx)
            .await?;
        Ok(row.is_some())
    }

    async fn purge_notices(&mut self, before: i64) -> Result<u64> {
        let done = sqlx::query(PURGE_NOTICES).bind(before).execute(&mut *self.tx).await?;
        Ok(done.rows_affected())
    }

    async fn record_notices(&mut self, notice_ids: &[&str], at: i64) -> Result<Vec<String>> {
        let mut fresh = Vec::with_capacity(notice_ids.len());
        for chunk in notice_ids.chunks(NOTICE_CHUNK) {
            let mut query = sqlx::query_as(AssertSqlSafe(recipes::record_notices_sql(chunk.len()))).bind(at);
            for id in chunk {
                query = query.bind(*id);
            }
            let rows: Vec<(String,)> = query.fetch_all(&mut *self.tx).await?;
            fresh.extend(rows.into_iter().map(|(id,)| id));
        }
        Ok(fresh)
    }

    async fn record_notice(&mut self, notice_id: &str, at: i64) -> Result<()> {
        sqlx::query(INSERT_NOTICE)
            .bind(notice_id)
            .bind(at)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn get_type_by_id(&mut self, id: RecipeTypeId) -> Result<Option<RecipeType>> {
        let row: Option<RecipeTypeRow> = sqlx::query_as(recipes::SELECT_TYPE_BY_ID)
            .bind(id.0)
            .fetch_optional(&mut *self.tx)
            .await?;
        Ok(row.map(RecipeType::from))
    }

    async fn insert_recipe(&mut self, r: &Recipe) -> Result<i64> {
        let (id,): (i64,) = sqlx::query_as(recipes::INSERT_RECIPE)
            .bind(r.recipe_type_id)
            .bind(r.revision_id)
            .bind(r.revision_num)
            .bind(&r.input)
            .bind(&r.configuration)
            .bind(r.status.as_str())
            .bind(recipes::counts_json(r))
            .bind(r.canceled)
            .bind(r.parent_recipe_id)
            .bind(&r.parent_node)
            .bind(r.root_recipe_id)
            .bind(r.is_superseded)
            .bind(r.superseded_recipe_id)
            .bind(r.superseded_by_recipe_id)
            .bind(r.needs_step)
            .bind(r.created)
            .bind(r.started)
            .bind(r.completed)
            .bind(r.ended)
            .bind(r.superseded)
            .bind(r.last_modified)
            .fetch_one(&mut *self.tx)
            .await?;
        Ok(id)
    }

    async fn get_recipe(&mut self, id: i64) -> Result<Option<Recipe>> {
        let row: Option<recipes::RecipeRow> = sqlx::query_as(AssertSqlSafe(recipes::select_recipe_sql("")))
            .bind(id)
            .fetch_optional(&mut *self.tx)
            .await?;
        recipes::one(row)
    }

    async fn lock_recipe(&mut self, id: i64, skip_locked: bool) -> Result<Option<Recipe>> {
        let row: Option<recipes::RecipeRow> = sqlx::query_as(AssertSqlSafe(recipes::select_recipe_sql(
            LOCK_CLAUSES[usize::from(skip_locked)],
        )))
        .bind(id)
        .fetch_optional(&mut *self.tx)
        .await?;
        recipes::one(row)
    }

    async fn update_recipe(&mut self, r: &Recipe) -> Result<()> {
        sqlx::query(recipes::UPDATE_RECIPE)
            .bind(r.id)
            .bind(r.status.as_str())
            .bind(recipes::counts_json(r))
            .bind(r.canceled)
            .bind(r.is_superseded)
            .bind(r.superseded_by_recipe_id)
            .bind(r.needs_step)
            .bind(r.started)
            .bind(r.completed)
            .bind(r.ended)
            .bind(r.superseded)
            .bind(r.last_modified)
            .bind(r.root_recipe_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn mark_needs_step(&mut self, id: i64) -> Result<()> {
        sqlx::query(recipes::MARK_NEEDS_STEP)
            .bind(id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn recipes_to_step(&mut self, limit: i64) -> Result<Vec<i64>> {
        let rows: Vec<(i64,)> = sqlx::query_as(recipes::SELECT_TO_STEP)
            .bind(limit)
            .fetch_all(&mut *self.tx)
            .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    async fn list_recipes(&mut self, filter: &RecipeFilter, offset: i64, limit: i64) -> Result<(i64, Vec<Recipe>)> {
        let (count_sql, page_sql, binds) = recipes::list_recipes_sql(filter);
        let mut count = sqlx::query_as::<_, (i64,)>(AssertSqlSafe(count_sql));
        let mut page = sqlx::query_as::<_, recipes::RecipeRow>(AssertSqlSafe(page_sql));
        for bind in binds {
            (count, page) = match bind {
                recipes::Bind::Int(v) => (count.bind(v), page.bind(v)),
                recipes::Bind::Text(v) => (count.bind(v.clone()), page.bind(v)),
                recipes::Bind::Bool(v) => (count.bind(v), page.bind(v)),
            };
        }
        let (total,) = count.fetch_one(&mut *self.tx).await?;
        let rows = page.bind(limit).bind(offset).fetch_all(&mut *self.tx).await?;
        Ok((total, recipes::recipes(rows)?))
    }

    async fn children(&mut self, parent_id: i64) -> Result<Vec<Recipe>> {
        let rows: Vec<recipes::RecipeRow> = sqlx::query_as(AssertSqlSafe(recipes::select_children_sql()))
            .bind(parent_id)
            .fetch_all(&mut *self.tx)
            .await?;
        recipes::recipes(rows)
    }

    async fn nodes(&mut self, recipe_id: i64) -> Result<Vec<NodeRecord>> {
        let rows: Vec<recipes::NodeRow> = sqlx::query_as(AssertSqlSafe(recipes::select_nodes_sql()))
            .bind(recipe_id)
            .fetch_all(&mut *self.tx)
            .await?;
        recipes::nodes(rows)
    }

    async fn put_nodes(&mut self, nodes: &[&NodeRecord]) -> Result<()> {
        for chunk in nodes.chunks(recipes::NODE_CHUNK) {
            let mut query = sqlx::query(AssertSqlSafe(recipes::upsert_nodes_sql(chunk.len())));
            for n in chunk {
                query = bind_node(query, n);
            }
            query.execute(&mut *self.tx).await?;
        }
        Ok(())
    }

    async fn unfinished_nodes(&mut self, before: i64, limit: i64) -> Result<Vec<NodeRecord>> {
        let rows: Vec<recipes::NodeRow> = sqlx::query_as(AssertSqlSafe(recipes::select_unfinished_sql()))
            .bind(before)
            .bind(limit)
            .fetch_all(&mut *self.tx)
            .await?;
        recipes::nodes(rows)
    }

    async fn commit(self: Box<Self>) -> Result<()> {
        self.tx.commit().await?;
        Ok(())
    }
}
