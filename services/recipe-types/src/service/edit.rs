//! Writes to existing recipe types: Scale's PATCH with its cascades, and
//! job-type revision notices. Each runs as ONE transaction whose updates are
//! guarded by the row versions it read; a lost race rolls everything back and
//! the whole operation is re-read, re-applied and re-validated, a few times,
//! before the caller gets `Conflict`.

use std::collections::{HashSet, VecDeque};

use serde_json::{Value, json};

use super::{RecipeTypes, Report, first_description, links_of, not_found, now, stored};
use crate::definition::{Definition, Message, names};
use crate::domain::{Edit, RecipeType};
use crate::error::{Error, Result};
use crate::repository::Transaction;

fn lost_race() -> Error {
    Error::Conflict("the recipe type changed during this request; retry".to_owned())
}

/// A PATCH worked out against one read of the row.
struct Plan {
    current: RecipeType,
    next: RecipeType,
    /// The new definition, when it differs from the stored one.
    new_def: Option<Definition>,
    warnings: Vec<Message>,
}

/// What a PATCH did: its report, and the revision the recipe type is at after
/// it (`new_revision` when this PATCH made that revision).
#[derive(Debug)]
pub struct Edited {
    pub report: Report,
    pub revision_num: i64,
    pub new_revision: bool,
}

impl RecipeTypes {
    /// Scale's PATCH. A definition change makes a new revision only when the
    /// normalised definition differs; `auto_update` moves parents along, and
    /// deactivating deactivates every type that contains this one.
    pub async fn edit(&self, name: &str, edit: Edit) -> Result<Edited> {
        let mut attempt = 1;
        loop {
            match self.try_edit(name, &edit).await {
                Err(Error::Conflict(_)) if attempt < self.limits.max_attempts => {
                    tracing::debug!(recipe_type = %name, attempt, "edit lost a race; retrying");
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// Reads and validates in a read transaction, so job-queue is asked
    /// outside any write lock.
    async fn plan_edit(&self, name: &str, edit: &Edit) -> Result<Plan> {
        let mut tx = self.repo.begin_read().await?;
        let current = tx.get(name).await?.ok_or_else(|| not_found(name))?;
        let mut next = current.clone();
        let mut warnings = Vec::new();
        let mut new_def = None;
        if let Some(text) = edit.definition.as_deref() {
            let def = self
                .parse(text)?
                .map_err(|e| Error::InvalidArgument(first_description(&e)))?;
            let outcome = self.check(tx.as_mut(), &def, Some(name)).await?;
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
        if let Some(title) = &edit.title {
            next.title = title.as_str().to_owned();
        }
        if let Some(description) = &edit.description {
            next.description = Some(description.clone().into_inner());
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
        }
        Ok(Plan {
            current,
            next,
            new_def,
            warnings,
        })
    }

    async fn try_edit(&self, name: &str, edit: &Edit) -> Result<Edited> {
        let Plan {
            current,
            next,
            new_def,
            mut warnings,
        } = self.plan_edit(name, edit).await?;
        let mut tx = self.repo.begin().await?;
        let saved = if next == current {
            current
        } else {
            let links = new_def.as_ref().map(links_of);
            tx.update(&next, links.as_ref()).await?.ok_or_else(lost_race)?
        };
        if new_def.is_some() && edit.auto_update {
            self.cascade_sub_update(tx.as_mut(), &saved.name, saved.revision_num)
                .await?;
        }
        if edit.is_active == Some(false) {
            let deprecated = self.deactivate_parents(tx.as_mut(), &saved.name).await?;
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
        tx.commit().await?;
        Ok(Edited {
            report: Report {
                is_valid: true,
                errors: Vec::new(),
                warnings,
                diff: json!({}),
            },
            revision_num: saved.revision_num,
            new_revision: new_def.is_some(),
        })
    }

    /// Saves `def` as the next revision of `rt`; `Conflict` when the row moved on.
    async fn save_revision(&self, tx: &mut dyn Transaction, rt: &RecipeType, def: &Definition) -> Result<RecipeType> {
        let mut next = rt.clone();
        next.definition = def.to_json().to_string();
        next.revision_num = rt.revision_num + 1;
        next.last_modified = now();
        tx.update(&next, Some(&links_of(def))).await?.ok_or_else(lost_race)
    }

    /// Moves parents' sub-recipe nodes on `name` to `revision` when the parent
    /// still validates, and on up the chain.
    async fn cascade_sub_update(&self, tx: &mut dyn Transaction, name: &str, revision: i64) -> Result<()> {
        let mut queue = VecDeque::from([(name.to_owned(), revision)]);
        let mut visited = HashSet::new();
        while let Some((child, child_revision)) = queue.pop_front() {
            if !visited.insert(child.clone()) || visited.len() > self.limits.max_walk {
                continue;
            }
            for parent in tx.parents_of(&child).await? {
                let mut def = stored(&parent)?;
                if !def.set_sub_recipe_revision(&child, child_revision) {
                    continue;
                }
                let outcome = self.check(tx, &def, Some(&parent.name)).await?;
                if !outcome.is_valid() {
                    tracing::info!(recipe_type = %parent.name, sub = %child, "parent not auto-updated: it would be invalid");
                    continue;
                }
                let saved = self.save_revision(tx, &parent, &def).await?;
                tracing::info!(recipe_type = %saved.name, revision = saved.revision_num, "auto-updated for a sub-recipe");
                queue.push_back((saved.name, saved.revision_num));
            }
        }
        Ok(())
    }

    /// Deactivates every type that contains `name`, transitively; returns the
    /// direct parents deactivated, for the warning.
    async fn deactivate_parents(&self, tx: &mut dyn Transaction, name: &str) -> Result<Vec<String>> {
        let mut direct = Vec::new();
        let mut queue = VecDeque::from([(name.to_owned(), true)]);
        let mut visited = HashSet::from([name.to_owned()]);
        while let Some((child, is_root)) = queue.pop_front() {
            for parent in tx.parents_of(&child).await? {
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
                    tx.update(&next, None).await?.ok_or_else(lost_race)?;
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
        let mut attempt = 1;
        loop {
            match self.try_job_type_revised(notice_id, name, version, revision).await {
                Err(Error::Conflict(_)) if attempt < self.limits.max_attempts => {
                    tracing::debug!(job_type = %name, attempt, "job type notice lost a race; retrying");
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn try_job_type_revised(
        &self,
        notice_id: &str,
        name: &str,
        version: &str,
        revision: i64,
    ) -> Result<Vec<String>> {
        let mut tx = self.repo.begin().await?;
        if !notice_id.is_empty() && tx.notice_seen(notice_id).await? {
            return Ok(Vec::new());
        }
        let mut updated = Vec::new();
        for listed in tx.using_job_type(name, version).await? {
            // An earlier cascade in this transaction may have written this row: read it again.
            let Some(rt) = tx.get(&listed.name).await? else {
                continue;
            };
            let mut def = stored(&rt)?;
            if !def.set_job_type_revision(name, version, revision) {
                continue;
            }
            let outcome = self.check(tx.as_mut(), &def, Some(&rt.name)).await?;
            if !outcome.is_valid() {
                tracing::info!(recipe_type = %rt.name, job_type = %name, "recipe type not moved to the new job type revision: it would be invalid");
                continue;
            }
            let saved = self.save_revision(tx.as_mut(), &rt, &def).await?;
            tracing::info!(recipe_type = %saved.name, revision = saved.revision_num, job_type = %name, "moved to new job type revision");
            self.cascade_sub_update(tx.as_mut(), &saved.name, saved.revision_num)
                .await?;
            updated.push(saved.name);
        }
        if !notice_id.is_empty() {
            tx.record_notice(notice_id, now()).await?;
        }
        tx.commit().await?;
        Ok(updated)
    }
}
