//! The SQL behind [`Repository`], instantiated for SQLite and PostgreSQL by a
//! macro (see job-queue's repository for why a macro). Only the migrations and
//! how a write transaction starts differ.

use async_trait::async_trait;
use sqlx::AssertSqlSafe;
use sqlx::migrate::Migrator;

use super::{Links, ListFilter, Repository};
use crate::domain::{RecipeType, Revision};
use crate::error::{Error, Result};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

const INSERT_TYPE: &str = "INSERT INTO rt_recipe_types (name, title, description, is_active, is_system, \
     revision_num, definition, created, deprecated, last_modified) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING *";
const UPDATE_TYPE: &str = "UPDATE rt_recipe_types SET title = $2, description = $3, is_active = $4, \
     revision_num = $5, definition = $6, deprecated = $7, last_modified = $8 \
     WHERE id = $1 AND revision_num = $9";
const INSERT_REVISION: &str =
    "INSERT INTO rt_revisions (recipe_type_id, revision_num, definition, created) VALUES ($1, $2, $3, $4)";

/// `%keyword%` for LIKE, with LIKE's own wildcards escaped.
fn like_pattern(keyword: &str) -> String {
    let escaped = keyword
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// The WHERE clause and ORDER BY of a list query. Only whitelisted column
/// expressions and numbered placeholders are put into the SQL text.
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
    (where_sql, format!("ORDER BY {}", order.join(", ")))
}

macro_rules! bind_filter {
    ($query:expr, $filter:expr) => {{
        let mut q = $query;
        for k in &$filter.keywords {
            q = q.bind(like_pattern(k));
        }
        if let Some(a) = $filter.is_active {
            q = q.bind(a);
        }
        if let Some(s) = $filter.is_system {
            q = q.bind(s);
        }
        q
    }};
}

macro_rules! sql_repository {
    ($name:ident, $db:ty, $pool:ty, $migrations:expr, $begin:expr) => {
        /// Recipe-types storage on this driver.
        #[derive(Clone, Debug)]
        pub struct $name {
            pool: $pool,
        }

        impl $name {
            pub fn new(pool: $pool) -> Self {
                Self { pool }
            }

            pub fn pool(&self) -> &$pool {
                &self.pool
            }
        }

        async fn replace_links(tx: &mut sqlx::Transaction<'static, $db>, id: i64, links: &Links) -> Result<()> {
            sqlx::query("DELETE FROM rt_job_links WHERE recipe_type_id = $1").bind(id).execute(&mut **tx).await?;
            sqlx::query("DELETE FROM rt_sub_links WHERE recipe_type_id = $1").bind(id).execute(&mut **tx).await?;
            for (name, version) in &links.job_types {
                sqlx::query(
                    "INSERT INTO rt_job_links (recipe_type_id, job_type_name, job_type_version) VALUES ($1, $2, $3) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(id)
                .bind(name)
                .bind(version)
                .execute(&mut **tx)
                .await?;
            }
            for sub in &links.sub_recipes {
                sqlx::query("INSERT INTO rt_sub_links (recipe_type_id, sub_name) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                    .bind(id)
                    .bind(sub)
                    .execute(&mut **tx)
                    .await?;
            }
            Ok(())
        }

        #[async_trait]
        impl Repository for $name {
            async fn migrate(&self) -> Result<()> {
                brigade_common::db::migrator(&$migrations, "_brigade_recipe_types_migrations")
                    .run(&self.pool).await.map_err(|e| Error::Internal(format!("migration failed: {e}")))
            }

            async fn ping(&self) -> Result<()> {
                sqlx::query("SELECT 1").execute(&self.pool).await?;
                Ok(())
            }

            async fn create(&self, rt: &RecipeType, links: &Links) -> Result<Option<RecipeType>> {
                let mut tx = $begin(&self.pool).await?;
                let exists: Option<(i64,)> = sqlx::query_as("SELECT id FROM rt_recipe_types WHERE name = $1")
                    .bind(&rt.name)
                    .fetch_optional(&mut *tx)
                    .await?;
                if exists.is_some() {
                    return Ok(None);
                }
                let created: RecipeType = sqlx::query_as(INSERT_TYPE)
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
                    .fetch_one(&mut *tx)
                    .await?;
                sqlx::query(INSERT_REVISION)
                    .bind(created.id)
                    .bind(created.revision_num)
                    .bind(&created.definition)
                    .bind(created.created)
                    .execute(&mut *tx)
                    .await?;
                replace_links(&mut tx, created.id, links).await?;
                tx.commit().await?;
                Ok(Some(created))
            }

            async fn get(&self, name: &str) -> Result<Option<RecipeType>> {
                Ok(sqlx::query_as("SELECT * FROM rt_recipe_types WHERE name = $1")
                    .bind(name)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn get_many(&self, names: &[String]) -> Result<Vec<RecipeType>> {
                if names.is_empty() {
                    return Ok(Vec::new());
                }
                let placeholders: Vec<String> = (1..=names.len()).map(|i| format!("${i}")).collect();
                let sql = format!(
                    "SELECT * FROM rt_recipe_types WHERE name IN ({}) ORDER BY lower(name), id",
                    placeholders.join(", ")
                );
                let mut q = sqlx::query_as(AssertSqlSafe(sql));
                for n in names {
                    q = q.bind(n);
                }
                Ok(q.fetch_all(&self.pool).await?)
            }

            async fn list(&self, filter: &ListFilter, offset: i64, limit: i64) -> Result<(i64, Vec<RecipeType>)> {
                let (where_sql, order_sql) = list_sql(filter);
                let count_sql = format!("SELECT COUNT(*) FROM rt_recipe_types {where_sql}");
                let (count,): (i64,) = bind_filter!(sqlx::query_as(AssertSqlSafe(count_sql)), filter)
                    .fetch_one(&self.pool)
                    .await?;
                let n = filter.keywords.len()
                    + usize::from(filter.is_active.is_some())
                    + usize::from(filter.is_system.is_some());
                let page_sql = format!(
                    "SELECT * FROM rt_recipe_types {where_sql} {order_sql} LIMIT ${} OFFSET ${}",
                    n + 1,
                    n + 2
                );
                let rows = bind_filter!(sqlx::query_as(AssertSqlSafe(page_sql)), filter)
                    .bind(limit)
                    .bind(offset)
                    .fetch_all(&self.pool)
                    .await?;
                Ok((count, rows))
            }

            async fn update(&self, rt: &RecipeType, expected_revision: i64, links: &Links) -> Result<bool> {
                let mut tx = $begin(&self.pool).await?;
                let done = sqlx::query(UPDATE_TYPE)
                    .bind(rt.id)
                    .bind(&rt.title)
                    .bind(&rt.description)
                    .bind(rt.is_active)
                    .bind(rt.revision_num)
                    .bind(&rt.definition)
                    .bind(rt.deprecated)
                    .bind(rt.last_modified)
                    .bind(expected_revision)
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() == 0 {
                    return Ok(false);
                }
                if rt.revision_num != expected_revision {
                    sqlx::query(INSERT_REVISION)
                        .bind(rt.id)
                        .bind(rt.revision_num)
                        .bind(&rt.definition)
                        .bind(rt.last_modified)
                        .execute(&mut *tx)
                        .await?;
                    replace_links(&mut tx, rt.id, links).await?;
                }
                tx.commit().await?;
                Ok(true)
            }

            async fn list_revisions(&self, id: i64, offset: i64, limit: i64) -> Result<(i64, Vec<Revision>)> {
                let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM rt_revisions WHERE recipe_type_id = $1")
                    .bind(id)
                    .fetch_one(&self.pool)
                    .await?;
                let rows = sqlx::query_as(
                    "SELECT * FROM rt_revisions WHERE recipe_type_id = $1 ORDER BY revision_num DESC LIMIT $2 OFFSET $3",
                )
                .bind(id)
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.pool)
                .await?;
                Ok((count, rows))
            }

            async fn get_revision(&self, id: i64, revision_num: i64) -> Result<Option<Revision>> {
                Ok(sqlx::query_as("SELECT * FROM rt_revisions WHERE recipe_type_id = $1 AND revision_num = $2")
                    .bind(id)
                    .bind(revision_num)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn parents_of(&self, name: &str) -> Result<Vec<RecipeType>> {
                Ok(sqlx::query_as(
                    "SELECT t.* FROM rt_recipe_types t JOIN rt_sub_links l ON l.recipe_type_id = t.id \
                     WHERE l.sub_name = $1 ORDER BY lower(t.name), t.id",
                )
                .bind(name)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn using_job_type(&self, name: &str, version: &str) -> Result<Vec<RecipeType>> {
                Ok(sqlx::query_as(
                    "SELECT t.* FROM rt_recipe_types t JOIN rt_job_links l ON l.recipe_type_id = t.id \
                     WHERE l.job_type_name = $1 AND l.job_type_version = $2 ORDER BY lower(t.name), t.id",
                )
                .bind(name)
                .bind(version)
                .fetch_all(&self.pool)
                .await?)
            }

            fn pool_stats(&self) -> (u32, usize) {
                (self.pool.size(), self.pool.num_idle())
            }

            async fn notice_seen(&self, notice_id: &str) -> Result<bool> {
                let row: Option<(String,)> =
                    sqlx::query_as("SELECT notice_id FROM rt_processed_notices WHERE notice_id = $1")
                        .bind(notice_id)
                        .fetch_optional(&self.pool)
                        .await?;
                Ok(row.is_some())
            }

            async fn record_notice(&self, notice_id: &str, at: i64) -> Result<()> {
                sqlx::query(
                    "INSERT INTO rt_processed_notices (notice_id, processed) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                )
                .bind(notice_id)
                .bind(at)
                .execute(&self.pool)
                .await?;
                Ok(())
            }
        }
    };
}

async fn sqlite_begin(pool: &sqlx::SqlitePool) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
    pool.begin_with("BEGIN IMMEDIATE").await
}

async fn postgres_begin(pool: &sqlx::PgPool) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
    pool.begin().await
}

mod sqlite {
    use super::*;
    sql_repository!(
        SqliteRepository,
        sqlx::Sqlite,
        sqlx::SqlitePool,
        SQLITE_MIGRATIONS,
        sqlite_begin
    );
}

mod postgres {
    use super::*;
    sql_repository!(
        PostgresRepository,
        sqlx::Postgres,
        sqlx::PgPool,
        POSTGRES_MIGRATIONS,
        postgres_begin
    );
}

pub use postgres::PostgresRepository;
pub use sqlite::SqliteRepository;
