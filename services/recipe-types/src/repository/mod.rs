//! Storage for recipe-types: one trait, a SQLite and a PostgreSQL implementation.

mod sql;

use async_trait::async_trait;

use crate::domain::{OrderBy, RecipeType, Revision};
use crate::error::Result;

pub use sql::{PostgresRepository, SqliteRepository};

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

    /// Inserts the type, its revision 1 and its links; `None` when the name is taken.
    async fn create(&self, recipe_type: &RecipeType, links: &Links) -> Result<Option<RecipeType>>;
    async fn get(&self, name: &str) -> Result<Option<RecipeType>>;
    async fn get_many(&self, names: &[String]) -> Result<Vec<RecipeType>>;
    /// (total matching, one page).
    async fn list(&self, filter: &ListFilter, offset: i64, limit: i64) -> Result<(i64, Vec<RecipeType>)>;
    /// Writes `updated` over the row still at `expected_revision`. When the revision
    /// grew, stores the new revision and replaces the links in the same transaction.
    async fn update(&self, updated: &RecipeType, expected_revision: i64, links: &Links) -> Result<bool>;
    /// Newest first.
    async fn list_revisions(&self, recipe_type_id: i64, offset: i64, limit: i64) -> Result<(i64, Vec<Revision>)>;
    async fn get_revision(&self, recipe_type_id: i64, revision_num: i64) -> Result<Option<Revision>>;
    /// Types whose current definition has a sub-recipe node on `name`.
    async fn parents_of(&self, name: &str) -> Result<Vec<RecipeType>>;
    /// Types whose current definition has a job node on (name, version).
    async fn using_job_type(&self, name: &str, version: &str) -> Result<Vec<RecipeType>>;

    /// (open connections, idle connections) of the pool.
    fn pool_stats(&self) -> (u32, usize);

    async fn notice_seen(&self, notice_id: &str) -> Result<bool>;
    async fn record_notice(&self, notice_id: &str, at: i64) -> Result<()>;
}
