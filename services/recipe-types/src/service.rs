//! Recipe-type rules: create, edit with revisions and cascades, validate with
//! diffs, and job-type revision notices. No SQL and no wire types here.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use serde_json::{Value, json};

use crate::definition::{
    self, Definition, JobTypeKey, Message, Outcome, Resolved, check_recursive_subs, names, parse_definition,
};
use crate::domain::{self, RecipeType, Revision};
use crate::error::{Error, Result};
use crate::job_types::{JobTypeInfo, JobTypes};
use crate::repository::{Links, ListFilter, Repository};

/// Bounds on definitions and on how far look-ups walk.
#[derive(Clone, Debug)]
pub struct Limits {
    pub max_definition_bytes: usize,
    pub max_nodes: usize,
    /// Sub-recipe types loaded for the recursion check, and parents walked by cascades.
    pub max_walk: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_definition_bytes: 1 << 20,
            max_nodes: 1000,
            max_walk: 1000,
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

pub struct Edit {
    pub title: Option<String>,
    pub description: Option<String>,
    pub definition: Option<String>,
    pub auto_update: bool,
    pub is_active: Option<bool>,
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

/// Text the databases store alike: PostgreSQL cannot hold NUL characters.
fn no_nul(field: &str, text: &str) -> Result<()> {
    if text.contains('\0') {
        Err(Error::InvalidArgument(format!(
            "Parameter must not contain NUL characters: \"{field}\""
        )))
    } else {
        Ok(())
    }
}

fn first_description(errors: &[Message]) -> String {
    errors
        .first()
        .map(|m| m.description.clone())
        .unwrap_or_else(|| "the definition is invalid".to_owned())
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
    async fn resolve(&self, def: &Definition) -> Result<(Resolved, HashMap<JobTypeKey, Option<JobTypeInfo>>)> {
        let keys = def.job_type_keys();
        let infos = self.job_types.resolve(&keys).await?;
        let mut resolved = Resolved::default();
        for key in keys {
            let interfaces = infos.get(&key).cloned().flatten().map(|i| i.interfaces);
            resolved.job_types.insert(key, interfaces);
        }
        for key in def.sub_recipe_keys() {
            let interface = match self.repo.get(&key.name).await? {
                Some(rt) => match self.repo.get_revision(rt.id, key.revision).await? {
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
    async fn reachable_definitions(&self, def: &Definition) -> Result<HashMap<String, Definition>> {
        let mut found = HashMap::new();
        let mut queue: VecDeque<String> = def.sub_recipe_keys().into_iter().map(|k| k.name).collect();
        while let Some(name) = queue.pop_front() {
            if found.contains_key(&name) || found.len() >= self.limits.max_walk {
                continue;
            }
            if let Some(rt) = self.repo.get(&name).await? {
                let sub = stored(&rt)?;
                queue.extend(sub.sub_recipe_keys().into_iter().map(|k| k.name));
                found.insert(name, sub);
            }
        }
        Ok(found)
    }

    /// Every check: graph, job types, sub-recipes, and the recursion check when
    /// the definition belongs to (or would replace) `name`.
    async fn check(&self, def: &Definition, name: Option<&str>) -> Result<Outcome> {
        let (resolved, _) = self.resolve(def).await?;
        let mut outcome = definition::validate(def, &resolved);
        if let Some(name) = name {
            let reachable = self.reachable_definitions(def).await?;
            let lookup = |n: &str| reachable.get(n).cloned();
            if let Some(error) = check_recursive_subs(name, def, &lookup) {
                outcome.errors.push(error);
            }
        }
        Ok(outcome)
    }

    pub async fn create(&self, title: &str, description: Option<String>, definition_text: &str) -> Result<Details> {
        no_nul("title", title)?;
        if let Some(d) = &description {
            no_nul("description", d)?;
        }
        let name = domain::name_from_title(title);
        if title.chars().count() > domain::MAX_TITLE_LEN {
            return Err(Error::InvalidArgument(format!(
                "Title must be at most {} characters",
                domain::MAX_TITLE_LEN
            )));
        }
        if description
            .as_ref()
            .is_some_and(|d| d.chars().count() > domain::MAX_DESCRIPTION_LEN)
        {
            return Err(Error::InvalidArgument(format!(
                "Description must be at most {} characters",
                domain::MAX_DESCRIPTION_LEN
            )));
        }
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
        if self.repo.get(&name).await?.is_some() {
            return Err(exists());
        }
        let def = self
            .parse(definition_text)?
            .map_err(|e| Error::InvalidArgument(first_description(&e)))?;
        let outcome = self.check(&def, None).await?;
        if !outcome.is_valid() {
            return Err(Error::InvalidArgument(first_description(&outcome.errors)));
        }
        let at = now();
        let new = RecipeType {
            id: 0,
            name: name.clone(),
            title: title.to_owned(),
            description,
            is_active: true,
            is_system: false,
            revision_num: 1,
            definition: def.to_json().to_string(),
            created: at,
            deprecated: None,
            last_modified: at,
        };
        let created = self.repo.create(&new, &links_of(&def)).await?.ok_or_else(exists)?;
        tracing::info!(recipe_type = %created.name, "recipe type created");
        self.details_of(created).await
    }

    pub async fn get(&self, name: &str) -> Result<RecipeType> {
        self.repo
            .get(name)
            .await?
            .ok_or_else(|| Error::NotFound(name.to_owned()))
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
        Ok(Details {
            definition: def.to_json_without_version(),
            job_types,
            sub_recipe_types: self.repo.get_many(&sub_names).await?,
            super_recipe_types: self.repo.parents_of(&rt.name).await?,
            recipe_type: rt,
        })
    }

    pub async fn list(&self, filter: &ListFilter, offset: i64, limit: i64) -> Result<(i64, Vec<Listed>)> {
        for keyword in &filter.keywords {
            no_nul("keyword", keyword)?;
        }
        let (count, rows) = self.repo.list(filter, offset, limit).await?;
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
        let rt = self.get(name).await?;
        let (count, revisions) = self.repo.list_revisions(rt.id, offset, limit).await?;
        Ok((rt, count, revisions))
    }

    pub async fn revision(&self, name: &str, revision_num: i64) -> Result<(RecipeType, Revision, Value)> {
        let rt = self.get(name).await?;
        let rev = self
            .repo
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
        let existing = match name {
            Some(n) => self.repo.get(n).await?,
            None => None,
        };
        let (mut errors, mut warnings, def) = match parsed {
            Err(errors) => (errors, Vec::new(), None),
            Ok(def) => {
                let outcome = self.check(&def, name).await?;
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

    /// Scale's PATCH. A definition change makes a new revision only when the
    /// normalised definition differs; `auto_update` moves parents along.
    pub async fn edit(&self, name: &str, edit: Edit) -> Result<Report> {
        let current = self.get(name).await?;
        let mut next = current.clone();
        let mut warnings = Vec::new();
        let mut new_def = None;
        if let Some(text) = edit.definition.as_deref() {
            let def = self
                .parse(text)?
                .map_err(|e| Error::InvalidArgument(first_description(&e)))?;
            let outcome = self.check(&def, Some(name)).await?;
            if !outcome.is_valid() {
                return Err(Error::InvalidArgument(first_description(&outcome.errors)));
            }
            warnings.extend(outcome.warnings);
            let normalised = def.to_json();
            let current_value: Value = serde_json::from_str(&current.definition).unwrap_or(Value::Null);
            if normalised != current_value {
                next.definition = normalised.to_string();
                next.revision_num = current.revision_num + 1;
                new_def = Some(def);
            }
        }
        if let Some(title) = edit.title {
            no_nul("title", &title)?;
            if title.chars().count() > domain::MAX_TITLE_LEN {
                return Err(Error::InvalidArgument(format!(
                    "Title must be at most {} characters",
                    domain::MAX_TITLE_LEN
                )));
            }
            next.title = title;
        }
        if let Some(description) = edit.description {
            no_nul("description", &description)?;
            if description.chars().count() > domain::MAX_DESCRIPTION_LEN {
                return Err(Error::InvalidArgument(format!(
                    "Description must be at most {} characters",
                    domain::MAX_DESCRIPTION_LEN
                )));
            }
            next.description = Some(description);
        }
        let at = now();
        if let Some(active) = edit.is_active
            && active != current.is_active
        {
            next.is_active = active;
            next.deprecated = if active { None } else { Some(at) };
        }
        if next != current {
            next.last_modified = at;
            let links = new_def.as_ref().map(links_of).unwrap_or_default();
            if !self.repo.update(&next, current.revision_num, &links).await? {
                return Err(Error::FailedPrecondition(
                    "the recipe type changed during this request; retry".to_owned(),
                ));
            }
        }
        if new_def.is_some() && edit.auto_update {
            self.cascade_sub_update(&next.name, next.revision_num).await?;
        }
        if edit.is_active == Some(false) {
            let deprecated = self.deactivate_parents(&next.name).await?;
            if !deprecated.is_empty() {
                warnings.push(Message::new(
                    names::DEPRECATED_RECIPES,
                    format!(
                        "The following recipes were deprecated as a result of deprecating this recipe type: [{}]",
                        deprecated.join(", ")
                    ),
                ));
            }
        }
        Ok(Report {
            is_valid: true,
            errors: Vec::new(),
            warnings,
            diff: json!({}),
        })
    }

    /// Saves `def` as the next revision of `rt`; false when it was already moved on.
    async fn save_revision(&self, rt: &RecipeType, def: &Definition) -> Result<Option<RecipeType>> {
        let mut next = rt.clone();
        next.definition = def.to_json().to_string();
        next.revision_num = rt.revision_num + 1;
        next.last_modified = now();
        Ok(self
            .repo
            .update(&next, rt.revision_num, &links_of(def))
            .await?
            .then_some(next))
    }

    /// Moves parents' sub-recipe nodes on `name` to `revision` when the parent
    /// still validates, and on up the chain.
    async fn cascade_sub_update(&self, name: &str, revision: i64) -> Result<()> {
        let mut queue = VecDeque::from([(name.to_owned(), revision)]);
        let mut visited = HashSet::new();
        while let Some((child, child_revision)) = queue.pop_front() {
            if !visited.insert(child.clone()) || visited.len() > self.limits.max_walk {
                continue;
            }
            for parent in self.repo.parents_of(&child).await? {
                let mut def = stored(&parent)?;
                if !def.set_sub_recipe_revision(&child, child_revision) {
                    continue;
                }
                let outcome = self.check(&def, Some(&parent.name)).await?;
                if !outcome.is_valid() {
                    tracing::info!(recipe_type = %parent.name, sub = %child, "parent not auto-updated: it would be invalid");
                    continue;
                }
                if let Some(saved) = self.save_revision(&parent, &def).await? {
                    tracing::info!(recipe_type = %saved.name, revision = saved.revision_num, "auto-updated for a sub-recipe");
                    queue.push_back((saved.name, saved.revision_num));
                }
            }
        }
        Ok(())
    }

    /// Deactivates every type that contains `name`, transitively; returns the
    /// direct parents deactivated, for the warning.
    async fn deactivate_parents(&self, name: &str) -> Result<Vec<String>> {
        let mut direct = Vec::new();
        let mut queue = VecDeque::from([(name.to_owned(), true)]);
        let mut visited = HashSet::from([name.to_owned()]);
        while let Some((child, is_root)) = queue.pop_front() {
            for parent in self.repo.parents_of(&child).await? {
                if !visited.insert(parent.name.clone()) || visited.len() > self.limits.max_walk {
                    continue;
                }
                if is_root {
                    direct.push(parent.name.clone());
                }
                if parent.is_active {
                    let at = now();
                    let mut next = parent.clone();
                    next.is_active = false;
                    next.deprecated = Some(at);
                    next.last_modified = at;
                    self.repo.update(&next, parent.revision_num, &Links::default()).await?;
                }
                queue.push_back((parent.name, false));
            }
        }
        Ok(direct)
    }

    /// A job type got a new revision: move recipe types using (name, version)
    /// to it when they still validate. Repeated notices change nothing.
    pub async fn job_type_revised(
        &self,
        notice_id: &str,
        name: &str,
        version: &str,
        revision: i64,
    ) -> Result<Vec<String>> {
        if !notice_id.is_empty() && self.repo.notice_seen(notice_id).await? {
            return Ok(Vec::new());
        }
        let mut updated = Vec::new();
        for rt in self.repo.using_job_type(name, version).await? {
            let mut def = stored(&rt)?;
            if !def.set_job_type_revision(name, version, revision) {
                continue;
            }
            let outcome = self.check(&def, Some(&rt.name)).await?;
            if !outcome.is_valid() {
                tracing::info!(recipe_type = %rt.name, job_type = %name, "recipe type not moved to the new job type revision: it would be invalid");
                continue;
            }
            if let Some(saved) = self.save_revision(&rt, &def).await? {
                tracing::info!(recipe_type = %saved.name, revision = saved.revision_num, job_type = %name, "moved to new job type revision");
                self.cascade_sub_update(&saved.name, saved.revision_num).await?;
                updated.push(saved.name);
            }
        }
        if !notice_id.is_empty() {
            self.repo.record_notice(notice_id, now()).await?;
        }
        Ok(updated)
    }
}
