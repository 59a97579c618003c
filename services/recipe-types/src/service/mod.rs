//! Recipe-type rules: create, edit with revisions and cascades, validate with
//! diffs, and job-type revision notices. No SQL and no wire types here; the
//! service decides where each transaction begins and commits.

pub mod driver;
mod edit;
pub mod recipes;

pub use edit::Edited;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use serde_json::{Value, json};

use crate::definition::{
    self, Definition, JobTypeKey, Message, Outcome, Resolved, check_recursive_subs, names, parse_definition,
};
use crate::domain::{self, NewRecipeType, RecipeType, RecipeTypeId, Revision};
use crate::error::{Error, Result};
use crate::job_types::{JobTypeInfo, JobTypes};
use crate::repository::{Links, ListFilter, Repository, Transaction};

/// Bounds on definitions and on how far look-ups walk.
#[derive(Clone, Debug)]
pub struct Limits {
    pub max_definition_bytes: usize,
    pub max_nodes: usize,
    /// Sub-recipe types loaded for the recursion check, and parents walked by cascades.
    pub max_walk: usize,
    /// How many times a write that lost an optimistic-concurrency race is
    /// re-read, re-applied and re-validated before the caller gets `Conflict`.
    pub max_attempts: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_definition_bytes: 1 << 20,
            max_nodes: 1000,
            max_walk: 1000,
            max_attempts: 8,
        }
    }
}

/// The answer of validation and of PATCH.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    pub is_valid: bool,
    pub errors: Vec<Message>,
    pub warnings: Vec<Message>,
    pub diff: Value,
}

/// A recipe type with everything its detail view shows.
pub struct Details {
    pub recipe_type: RecipeType,
    pub definition: Value,
    pub job_types: Vec<(JobTypeKey, Option<JobTypeInfo>)>,
    pub sub_recipe_types: Vec<RecipeType>,
    pub super_recipe_types: Vec<RecipeType>,
}

/// A list item: the type and what its definition uses.
pub struct Listed {
    pub recipe_type: RecipeType,
    pub job_types: Vec<(String, String)>,
    pub sub_recipe_types: Vec<String>,
}

pub struct RecipeTypes {
    repo: Arc<dyn Repository>,
    job_types: Arc<dyn JobTypes>,
    limits: Limits,
}

fn now() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

fn links_of(def: &Definition) -> Links {
    let mut job_types: Vec<(String, String)> = Vec::new();
    for k in def.job_type_keys() {
        if !job_types.iter().any(|(n, v)| *n == k.name && *v == k.version) {
            job_types.push((k.name, k.version));
        }
    }
    let mut sub_recipes: Vec<String> = Vec::new();
    for k in def.sub_recipe_keys() {
        if !sub_recipes.contains(&k.name) {
            sub_recipes.push(k.name);
        }
    }
    Links { job_types, sub_recipes }
}

/// A stored definition is always normalised, so it parses; anything else is corruption.
fn stored(rt: &RecipeType) -> Result<Definition> {
    let value: Value = serde_json::from_str(&rt.definition).map_err(|e| Error::Internal(e.to_string()))?;
    parse_definition(&value)
        .map_err(|errors| Error::Internal(format!("stored definition of {} is invalid: {errors:?}", rt.name)))
}

fn first_description(errors: &[Message]) -> String {
    errors
        .first()
        .map_or_else(|| "the definition is invalid".to_owned(), |m| m.description.clone())
}

fn not_found(name: &str) -> Error {
    Error::NotFound(name.to_owned())
}

impl RecipeTypes {
    pub fn new(repo: Arc<dyn Repository>, job_types: Arc<dyn JobTypes>, limits: Limits) -> Self {
        Self {
            repo,
            job_types,
            limits,
        }
    }

    pub fn repository(&self) -> &Arc<dyn Repository> {
        &self.repo
    }

    /// Parses definition text; the errors are definition messages.
    fn parse(&self, text: &str) -> Result<std::result::Result<Definition, Vec<Message>>> {
        if text.len() > self.limits.max_definition_bytes {
            return Err(Error::InvalidArgument(format!(
                "the definition is larger than {} bytes",
                self.limits.max_definition_bytes
            )));
        }
        let value: Value = serde_json::from_str(text)
            .map_err(|e| Error::InvalidArgument(format!("the definition is not valid JSON: {e}")))?;
        if !value.is_object() {
            return Err(Error::InvalidArgument(
                "Parameter must be a valid JSON object: \"definition\"".to_owned(),
            ));
        }
        let parsed = parse_definition(&value);
        if let Ok(def) = &parsed
            && def.nodes().len() > self.limits.max_nodes
        {
            return Err(Error::InvalidArgument(format!(
                "a definition may have at most {} nodes",
                self.limits.max_nodes
            )));
        }
        Ok(parsed)
    }

    /// Looks up every job type (one call to job-queue) and sub-recipe revision the definition names.
    pub(crate) async fn resolve(
        &self,
        tx: &mut dyn Transaction,
        def: &Definition,
    ) -> Result<(Resolved, HashMap<JobTypeKey, Option<JobTypeInfo>>)> {
        let keys = def.job_type_keys();
        let infos = self.job_types.resolve(&keys).await?;
        let mut resolved = Resolved::default();
        for key in keys {
            let interfaces = infos.get(&key).cloned().flatten().map(|i| i.interfaces);
            resolved.job_types.insert(key, interfaces);
        }
        for key in def.sub_recipe_keys() {
            let interface = match tx.get(&key.name).await? {
                Some(rt) => match tx.get_revision(rt.id, key.revision).await? {
                    Some(rev) => {
                        let value: Value = serde_json::from_str(&rev.definition).unwrap_or(Value::Null);
                        parse_definition(&value).ok().map(|d| d.input_interface().clone())
                    }
                    None => None,
                },
                None => None,
            };
            resolved.recipe_types.insert(key, interface);
        }
        Ok((resolved, infos))
    }

    /// Current definitions of every recipe type reachable through sub-recipe nodes.
    async fn reachable_definitions(
        &self,
        tx: &mut dyn Transaction,
        def: &Definition,
    ) -> Result<HashMap<String, Definition>> {
        let mut found = HashMap::new();
        let mut queue: VecDeque<String> = def.sub_recipe_keys().into_iter().map(|k| k.name).collect();
        while let Some(name) = queue.pop_front() {
            if found.contains_key(&name) || found.len() >= self.limits.max_walk {
                continue;
            }
            if let Some(rt) = tx.get(&name).await? {
                let sub = stored(&rt)?;
                queue.extend(sub.sub_recipe_keys().into_iter().map(|k| k.name));
                found.insert(name, sub);
            }
        }
        Ok(found)
    }

    /// Every check: graph, job types, sub-recipes, and the recursion check when
    /// the definition belongs to (or would replace) `name`.
    async fn check(&self, tx: &mut dyn Transaction, def: &Definition, name: Option<&str>) -> Result<Outcome> {
        let (resolved, _) = self.resolve(tx, def).await?;
        let mut outcome = definition::validate(def, &resolved);
        if let Some(name) = name {
            let reachable = self.reachable_definitions(tx, def).await?;
            let lookup = |n: &str| reachable.get(n).cloned();
            if let Some(error) = check_recursive_subs(name, def, &lookup) {
                outcome.errors.push(error);
            }
        }
        Ok(outcome)
    }

    /// Validates in a read transaction (job-queue is asked outside any write
    /// lock), then inserts in a short write transaction.
    pub async fn create(&self, new: NewRecipeType) -> Result<Details> {
        let name = domain::name_from_title(new.title.as_str());
        if name.is_empty() {
            return Err(Error::InvalidArgument(
                "Unable to create a recipe type from this title: it has no letters or digits to make a name from"
                    .to_owned(),
            ));
        }
        if name == domain::RESERVED_NAME {
            return Err(Error::InvalidArgument(format!(
                "Unable to create recipe type named \"{}\"",
                domain::RESERVED_NAME
            )));
        }
        let exists = || {
            Error::InvalidArgument(format!(
                "Existing recipe types found for {name} - will not re-create. Please change the title or patch the existing recipe type."
            ))
        };
        let def = {
            let mut tx = self.repo.begin_read().await?;
            if tx.get(&name).await?.is_some() {
                return Err(exists());
            }
            let def = self
                .parse(&new.definition)?
                .map_err(|e| Error::InvalidArgument(first_description(&e)))?;
            let outcome = self.check(tx.as_mut(), &def, None).await?;
            if !outcome.is_valid() {
                return Err(Error::InvalidArgument(first_description(&outcome.errors)));
            }
            def
        };
        let at = now();
        let row = RecipeType {
            id: RecipeTypeId(0),
            name: name.clone(),
            title: new.title.into_inner(),
            description: new.description.map(domain::Description::into_inner),
            is_active: true,
            is_system: false,
            revision_num: 1,
            definition: def.to_json().to_string(),
            created: at,
            deprecated: None,
            last_modified: at,
            row_version: 1,
        };
        let mut tx = self.repo.begin().await?;
        let created = tx.create(&row, &links_of(&def)).await?.ok_or_else(exists)?;
        tx.commit().await?;
        tracing::info!(recipe_type = %created.name, "recipe type created");
        self.details_of(created).await
    }

    pub async fn get(&self, name: &str) -> Result<RecipeType> {
        let mut tx = self.repo.begin_read().await?;
        tx.get(name).await?.ok_or_else(|| not_found(name))
    }

    pub async fn details(&self, name: &str) -> Result<Details> {
        let rt = self.get(name).await?;
        self.details_of(rt).await
    }

    async fn details_of(&self, rt: RecipeType) -> Result<Details> {
        let def = stored(&rt)?;
        let keys = def.job_type_keys();
        let infos = self.job_types.resolve(&keys).await.unwrap_or_else(|e| {
            // The detail view still answers when job-queue is down; job types show without their details.
            tracing::warn!(error = %e, "job types not resolved for a detail view");
            HashMap::new()
        });
        let job_types = keys
            .into_iter()
            .map(|k| {
                let info = infos.get(&k).cloned().flatten();
                (k, info)
            })
            .collect();
        let sub_names: Vec<String> = links_of(&def).sub_recipes;
        let mut tx = self.repo.begin_read().await?;
        Ok(Details {
            definition: def.to_json_without_version(),
            job_types,
            sub_recipe_types: tx.get_many(&sub_names).await?,
            super_recipe_types: tx.parents_of(&rt.name).await?,
            recipe_type: rt,
        })
    }

    pub async fn list(&self, filter: &ListFilter, offset: i64, limit: i64) -> Result<(i64, Vec<Listed>)> {
        for keyword in &filter.keywords {
            domain::check_keyword(keyword).map_err(Error::InvalidArgument)?;
        }
        let (count, rows) = self.repo.begin_read().await?.list(filter, offset, limit).await?;
        let mut listed = Vec::with_capacity(rows.len());
        for rt in rows {
            let links = stored(&rt).map(|d| links_of(&d)).unwrap_or_default();
            listed.push(Listed {
                recipe_type: rt,
                job_types: links.job_types,
                sub_recipe_types: links.sub_recipes,
            });
        }
        Ok((count, listed))
    }

    pub async fn revisions(&self, name: &str, offset: i64, limit: i64) -> Result<(RecipeType, i64, Vec<Revision>)> {
        let mut tx = self.repo.begin_read().await?;
        let rt = tx.get(name).await?.ok_or_else(|| not_found(name))?;
        let (count, revisions) = tx.list_revisions(rt.id, offset, limit).await?;
        Ok((rt, count, revisions))
    }

    pub async fn revision(&self, name: &str, revision_num: i64) -> Result<(RecipeType, Revision, Value)> {
        let mut tx = self.repo.begin_read().await?;
        let rt = tx.get(name).await?.ok_or_else(|| not_found(name))?;
        let rev = tx
            .get_revision(rt.id, revision_num)
            .await?
            .ok_or_else(|| Error::NotFound(format!("{name} revision {revision_num}")))?;
        let value: Value = serde_json::from_str(&rev.definition).map_err(|e| Error::Internal(e.to_string()))?;
        let shown = parse_definition(&value)
            .map(|d| d.to_json_without_version())
            .unwrap_or(value);
        Ok((rt, rev, shown))
    }

    /// Scale's validation endpoint: always a report, never an error for a bad definition.
    pub async fn validate(&self, name: Option<&str>, definition_text: &str) -> Result<Report> {
        let parsed = self.parse(definition_text)?;
        let mut tx = self.repo.begin_read().await?;
        let existing = match name {
            Some(n) => tx.get(n).await?,
            None => None,
        };
        let (mut errors, mut warnings, def) = match parsed {
            Err(errors) => (errors, Vec::new(), None),
            Ok(def) => {
                let outcome = self.check(tx.as_mut(), &def, name).await?;
                (outcome.errors, outcome.warnings, Some(def))
            }
        };
        let mut diff = json!({});
        if let (Some(current), Some(def)) = (existing, def.as_ref()) {
            let prev = stored(&current)?;
            let d = definition::diff(&prev, def);
            if !d.can_be_reprocessed() {
                warnings.push(Message::new(
                    names::REPROCESS_WARNING,
                    "This recipe cannot be reprocessed after updating.",
                ));
            }
            diff = d.to_json();
        }
        errors.dedup();
        Ok(Report {
            is_valid: errors.is_empty(),
            errors,
            warnings,
            diff,
        })
    }
}
