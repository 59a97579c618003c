//! Recipe rules: queue a recipe, show it, list, cancel, reprocess, and apply
//! job status notices from job-queue. The engine driver ([`super::driver`])
//! moves recipes on after each of these.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::sync::{Semaphore, broadcast};

use super::RecipeTypes;
use super::driver::{Plan, PlanCache, log_status_change, now};
use crate::definition::{ForcedNodes, JobTypeKey};
use crate::domain::{RecipeType, RecipeTypeId};
use crate::engine::{JobStatus, RecipeInstance, RecipeStatus, plan_reprocess, recipe_details, validate_recipe_input};
use crate::error::{Error, Result};
use crate::jobs::Jobs;
use crate::recipe::{NodeRecord, NodeRowState, Recipe, RecipeFilter, recipe_state};
use crate::repository::{Repository, Transaction};

/// Which recipe type (and revision) a new recipe runs.
#[derive(Clone, Debug)]
pub enum TypeRef {
    Id(i64),
    Name(String),
}

pub struct NewRecipe {
    pub recipe_type: TypeRef,
    pub revision_num: Option<i64>,
    pub input: Value,
    pub configuration: Option<Value>,
}

/// A job status change of a recipe job, as job-queue reports it.
#[derive(Clone, Debug)]
pub struct JobNotice {
    pub notice_id: String,
    pub job_id: String,
    pub recipe_id: i64,
    pub recipe_node: String,
    pub status: JobStatus,
    pub results_json: Option<String>,
    pub job_version: i64,
}

/// A recipe with everything its detail view shows.
pub struct RecipeView {
    pub recipe: Recipe,
    pub recipe_type: RecipeType,
    pub details: RecipeInstance,
    /// Each job type the revision names, with job-queue's service id.
    pub job_types: Vec<(JobTypeKey, Option<String>)>,
    pub sub_recipe_types: Vec<RecipeType>,
}

impl RecipeView {
    /// COMPLETED and CANCELED end a watch; FAILED may still recover.
    pub fn is_final(&self) -> bool {
        matches!(self.recipe.status, RecipeStatus::Completed | RecipeStatus::Canceled)
    }
}

/// The child recipes a recipe's sub-recipe nodes show: its own children, and
/// a child a reprocess carried over from the recipe it superseded (whose
/// parent is still that older recipe).
pub(super) async fn node_children(
    tx: &mut dyn Transaction,
    recipe_id: i64,
    nodes: &[NodeRecord],
) -> Result<HashMap<i64, Recipe>> {
    let mut children: HashMap<i64, Recipe> = tx.children(recipe_id).await?.into_iter().map(|c| (c.id, c)).collect();
    for child_id in nodes.iter().filter_map(|n| n.child_recipe_id) {
        if !children.contains_key(&child_id)
            && let Some(child) = tx.get_recipe(child_id).await?
        {
            children.insert(child_id, child);
        }
    }
    Ok(children)
}

pub struct Recipes {
    pub(super) repo: Arc<dyn Repository>,
    pub(super) types: Arc<RecipeTypes>,
    pub(super) jobs: Arc<dyn Jobs>,
    pub(super) plans: PlanCache,
    changes: broadcast::Sender<i64>,
    /// Recipes a [`Recipes::step_soon`] task is stepping: true when asked again meanwhile.
    stepping: Mutex<HashMap<i64, bool>>,
    /// Bounds the steps running at once, so they leave database connections to reads.
    step_permits: Semaphore,
    /// Recipe id → (recipe type id, revision number) of a top-level recipe,
    /// `None` for a sub-recipe: neither ever changes.
    top_level: Mutex<HashMap<i64, Option<(i64, i64)>>>,
    /// Whether a top-level recipe's step makes its jobs before it commits
    /// (see the driver's module doc): not where a write transaction holds
    /// the whole database.
    pub(super) submit_in_step: bool,
}

/// Recipes [`Recipes::top_level_plan`] remembers before it starts again.
const TOP_LEVEL_REMEMBERED: usize = 10_000;

/// What applying notices left to do after its commit.
#[derive(Default)]
pub struct Applied {
    /// Job intents to send to job-queue.
    pub intents: Vec<NodeRecord>,
    /// Recipes to step (sub-recipes, children started, parents to move on).
    pub step: Vec<i64>,
}

/// Steps of [`Recipes::step_soon`] running at once.
const STEPS_AT_ONCE: usize = 8;

fn invalid(message: impl Into<String>) -> Error {
    Error::InvalidArgument(message.into())
}

impl Recipes {
    pub fn new(repo: Arc<dyn Repository>, types: Arc<RecipeTypes>, jobs: Arc<dyn Jobs>) -> Self {
        let submit_in_step = !repo.single_writer();
        Self {
            repo,
            types,
            jobs,
            plans: PlanCache::default(),
            changes: broadcast::channel(1024).0,
            stepping: Mutex::default(),
            step_permits: Semaphore::new(STEPS_AT_ONCE),
            top_level: Mutex::default(),
            submit_in_step,
        }
    }

    /// Makes jobs in the step, or after its commit, whatever the database.
    #[cfg(test)]
    pub(crate) fn with_submit_in_step(mut self, on: bool) -> Self {
        self.submit_in_step = on;
        self
    }

    /// Ids of recipes that changed in this process.
    pub fn subscribe(&self) -> broadcast::Receiver<i64> {
        self.changes.subscribe()
    }

    pub(super) fn changed(&self, id: i64) {
        let _ = self.changes.send(id);
    }

    /// Validates the input against the type's input interface, stores the
    /// recipe and steps it once.
    pub async fn create(&self, new: NewRecipe) -> Result<RecipeView> {
        let rt = {
            let mut tx = self.repo.begin_read().await?;
            match &new.recipe_type {
                TypeRef::Id(id) => tx.get_type_by_id(RecipeTypeId(*id)).await?,
                TypeRef::Name(name) => tx.get(name).await?,
            }
        }
        .ok_or_else(|| match &new.recipe_type {
            TypeRef::Id(id) => Error::NotFound(id.to_string()),
            TypeRef::Name(name) => Error::NotFound(name.clone()),
        })?;
        if !rt.is_active {
            return Err(invalid(format!("Recipe type {} is not active", rt.name)));
        }
        let revision_num = new.revision_num.unwrap_or(rt.revision_num);
        if revision_num < 1 || revision_num > rt.revision_num {
            return Err(Error::NotFound(format!("{} revision {revision_num}", rt.name)));
        }
        let (revision_id, plan) = self.plan(rt.id.0, revision_num).await?;
        let data = validate_recipe_input(plan.def.input_interface(), &new.input).map_err(Error::InvalidData)?;
        let configuration = match new.configuration {
            None | Some(Value::Null) => "{}".to_owned(),
            Some(Value::Object(m)) => Value::Object(m).to_string(),
            Some(_) => return Err(invalid("Parameter must be a valid JSON object: \"configuration\"")),
        };
        let at = now();
        let recipe = Recipe {
            id: 0,
            recipe_type_id: rt.id.0,
            revision_id,
            revision_num,
            input: data.to_json().to_string(),
            configuration,
            status: RecipeStatus::Running,
            counts: Default::default(),
            canceled: false,
            parent_recipe_id: None,
            parent_node: None,
            root_recipe_id: None,
            is_superseded: false,
            superseded_recipe_id: None,
            superseded_by_recipe_id: None,
            needs_step: true,
            created: at,
            started: Some(at),
            completed: None,
            ended: None,
            superseded: None,
            last_modified: at,
            row_version: 1,
        };
        let mut tx = self.repo.begin().await?;
        let id = tx.insert_recipe(&recipe).await?;
        tx.commit().await?;
        self.remember_top_level(id, recipe.top_level_key());
        tracing::info!(recipe_id = id, recipe_type = %rt.name, "recipe queued");
        self.step_logged(id).await;
        self.view(id).await
    }

    /// A failed inline step is not the caller's failure: the event is
    /// committed and the background task steps the recipe again.
    async fn step_logged(&self, id: i64) {
        if let Err(e) = self.step(id, false).await {
            tracing::warn!(recipe_id = id, error = %e, "recipe step deferred to the background task");
        }
    }

    pub async fn view(&self, id: i64) -> Result<RecipeView> {
        let mut tx = self.repo.begin_read().await?;
        let recipe = tx.get_recipe(id).await?.ok_or(Error::RecipeNotFound(id))?;
        drop(tx);
        let (_, plan) = self.plan(recipe.recipe_type_id, recipe.revision_num).await?;
        let mut tx = self.repo.begin_read().await?;
        self.view_of(tx.as_mut(), recipe, &plan).await
    }

    async fn view_of(&self, tx: &mut dyn Transaction, recipe: Recipe, plan: &Plan) -> Result<RecipeView> {
        let nodes = tx.nodes(recipe.id).await?;
        let children = node_children(tx, recipe.id, &nodes).await?;
        let state = recipe_state(&recipe, &nodes, &children);
        let recipe_type = tx
            .get_type_by_id(RecipeTypeId(recipe.recipe_type_id))
            .await?
            .ok_or_else(|| Error::Internal("a recipe's type is missing".to_owned()))?;
        let sub_names: Vec<String> = plan.def.sub_recipe_keys().into_iter().map(|k| k.name).collect();
        Ok(RecipeView {
            details: recipe_details(&plan.def, &state),
            job_types: plan
                .def
                .job_type_keys()
                .into_iter()
                .map(|k| {
                    let service = plan.services.get(&k).cloned();
                    (k, service)
                })
                .collect(),
            sub_recipe_types: tx.get_many(&sub_names).await?,
            recipe_type,
            recipe,
        })
    }

    pub async fn list(&self, filter: &RecipeFilter, offset: i64, limit: i64) -> Result<(i64, Vec<RecipeView>)> {
        let (count, rows) = self
            .repo
            .begin_read()
            .await?
            .list_recipes(filter, offset, limit)
            .await?;
        let mut views = Vec::with_capacity(rows.len());
        for recipe in rows {
            let (_, plan) = self.plan(recipe.recipe_type_id, recipe.revision_num).await?;
            let mut tx = self.repo.begin_read().await?;
            views.push(self.view_of(tx.as_mut(), recipe, &plan).await?);
        }
        Ok((count, views))
    }

    /// The recipe type ids of these names (unknown names match nothing).
    pub async fn type_ids(&self, names: &[String]) -> Result<Vec<i64>> {
        let mut tx = self.repo.begin_read().await?;
        let found = tx.get_many(names).await?;
        Ok(found.into_iter().map(|rt| rt.id.0).collect())
    }

    /// Cancels the recipe and every recipe under it, then their jobs.
    pub async fn cancel(&self, id: i64) -> Result<RecipeView> {
        let mut tx = self.repo.begin().await?;
        let mut recipe = tx.lock_recipe(id, false).await?.ok_or(Error::RecipeNotFound(id))?;
        let at = now();
        let mut to_cancel = Vec::new();
        let mut queue = vec![recipe.id];
        let mut seen = 0;
        while let Some(rid) = queue.pop() {
            seen += 1;
            if seen > 10_000 {
                break;
            }
            let mut r = if rid == recipe.id {
                recipe.clone()
            } else {
                match tx.lock_recipe(rid, false).await? {
                    Some(r) => r,
                    None => continue,
                }
            };
            queue.extend(tx.children(rid).await?.into_iter().map(|c| c.id));
            if r.canceled || matches!(r.status, RecipeStatus::Completed) {
                continue;
            }
            r.canceled = true;
            r.status = RecipeStatus::Canceled;
            r.ended = r.ended.or(Some(at));
            r.last_modified = at;
            tx.update_recipe(&r).await?;
            if rid == recipe.id {
                recipe = r.clone();
            }
            for mut node in tx.nodes(rid).await? {
                if node.job_is_active() {
                    node.cancel_pending = true;
                    node.last_modified = at;
                    tx.put_node(&node).await?;
                    to_cancel.push(node);
                }
            }
        }
        if let Some(parent) = recipe.parent_recipe_id {
            tx.mark_needs_step(parent).await?;
        }
        tx.commit().await?;
        tracing::info!(recipe_id = id, jobs = to_cancel.len(), "recipe cancelled");
        for node in &to_cancel {
            if node.job_id.is_some()
                && let Err(e) = self.send_cancel(node).await
            {
                tracing::warn!(recipe_id = node.recipe_id, node = %node.node_name, error = %e, "job cancel deferred");
            }
        }
        self.changed(id);
        if let Some(parent) = recipe.parent_recipe_id {
            self.step_logged(parent).await;
        }
        self.view(id).await
    }

    /// A new recipe that supersedes `id`; the nodes the plan reuses carry
    /// their old job, condition outcome or child recipe over.
    pub async fn reprocess(&self, id: i64, forced: &ForcedNodes, revision_num: Option<i64>) -> Result<RecipeView> {
        let old = self
            .repo
            .begin_read()
            .await?
            .get_recipe(id)
            .await?
            .ok_or(Error::RecipeNotFound(id))?;
        if old.is_superseded {
            return Err(Error::FailedPrecondition(format!(
                "recipe {id} is already superseded by recipe {}",
                old.superseded_by_recipe_id.unwrap_or_default()
            )));
        }
        let rt = self
            .repo
            .begin_read()
            .await?
            .get_type_by_id(RecipeTypeId(old.recipe_type_id))
            .await?
            .ok_or_else(|| Error::Internal("a recipe's type is missing".to_owned()))?;
        let revision_num = revision_num.unwrap_or(rt.revision_num);
        if revision_num < 1 || revision_num > rt.revision_num {
            return Err(Error::NotFound(format!("{} revision {revision_num}", rt.name)));
        }
        let (_, old_plan) = self.plan(old.recipe_type_id, old.revision_num).await?;
        let (revision_id, new_plan) = self.plan(old.recipe_type_id, revision_num).await?;
        let input: Value = serde_json::from_str(&old.input).unwrap_or(Value::Null);
        validate_recipe_input(new_plan.def.input_interface(), &input).map_err(Error::InvalidData)?;

        let mut tx = self.repo.begin().await?;
        let mut old = tx.lock_recipe(id, false).await?.ok_or(Error::RecipeNotFound(id))?;
        if old.is_superseded {
            return Err(Error::FailedPrecondition(format!("recipe {id} is already superseded")));
        }
        let old_nodes = tx.nodes(id).await?;
        let children = node_children(tx.as_mut(), id, &old_nodes).await?;
        let old_state = recipe_state(&old, &old_nodes, &children);
        let plan = plan_reprocess(&old_plan.def, &old_state, &new_plan.def, forced);
        let at = now();
        let new = Recipe {
            id: 0,
            revision_id,
            revision_num,
            status: RecipeStatus::Running,
            counts: Default::default(),
            canceled: false,
            is_superseded: false,
            superseded_recipe_id: Some(id),
            superseded_by_recipe_id: None,
            needs_step: true,
            created: at,
            started: Some(at),
            completed: None,
            ended: None,
            superseded: None,
            last_modified: at,
            row_version: 1,
            ..old.clone()
        };
        let new_id = tx.insert_recipe(&new).await?;
        let reused = plan.reused();
        for node in old_nodes.iter().filter(|n| reused.contains(&n.node_name.as_str())) {
            let mut copy = node.clone();
            copy.recipe_id = new_id;
            copy.cancel_pending = false;
            copy.last_modified = at;
            tx.put_node(&copy).await?;
        }
        old.is_superseded = true;
        old.superseded = Some(at);
        old.superseded_by_recipe_id = Some(new_id);
        old.last_modified = at;
        tx.update_recipe(&old).await?;
        tx.commit().await?;
        tracing::info!(
            recipe_id = new_id,
            superseded = id,
            reused = reused.len(),
            "recipe reprocessed"
        );
        self.remember_top_level(new_id, new.top_level_key());
        self.changed(id);
        self.step_logged(new_id).await;
        self.view(new_id).await
    }

    /// Applies a job status notice once (by notice id), ignoring one older
    /// than what the node shows, and steps the recipe.
    pub async fn job_status(&self, notice: JobNotice) -> Result<()> {
        self.job_status_batch(vec![notice]).await
    }

    /// [`Recipes::job_status`] for notices delivered together.
    pub async fn job_status_batch(&self, notices: Vec<JobNotice>) -> Result<()> {
        let applied = self.apply_job_notices(notices).await?;
        let _logged = self.submit_intents(&applied.intents).await;
        for id in applied.step {
            self.step_logged(id).await;
        }
        Ok(())
    }

    /// Applies job status notices, each once (by notice id) and in order,
    /// ignoring one older than what its node shows: one transaction per
    /// recipe, which also steps a top-level recipe. Returns the job intents
    /// to send and the recipes still to step.
    pub async fn apply_job_notices(&self, notices: Vec<JobNotice>) -> Result<Applied> {
        let mut by_recipe: BTreeMap<i64, Vec<JobNotice>> = BTreeMap::new();
        for notice in notices {
            by_recipe.entry(notice.recipe_id).or_default().push(notice);
        }
        let mut applied = Applied::default();
        for (recipe_id, notices) in by_recipe {
            let plan = self.top_level_plan(recipe_id).await?;
            let outcome = match self.apply_recipe_notices(recipe_id, &notices, plan.as_deref()).await {
                // A step that cannot be taken (a stored definition that no
                // longer reads, say) must not hold up the notices: apply them
                // alone and leave the step to the background task, as for a
                // sub-recipe.
                Err(e) if plan.is_some() => {
                    tracing::warn!(recipe_id, error = %e, "stepping with the notices failed; applying them alone");
                    self.apply_recipe_notices(recipe_id, &notices, None).await?
                }
                outcome => outcome?,
            };
            applied.intents.extend(outcome.0);
            applied.step.extend(outcome.1);
        }
        Ok(applied)
    }

    /// The plan of a top-level recipe, to step it in the transaction that
    /// applies its notices; `None` for a sub-recipe (stepped on its own, as
    /// its parent is locked first) or an unknown one.
    async fn top_level_plan(&self, recipe_id: i64) -> Result<Option<Arc<Plan>>> {
        let known = self.top_level.lock().ok().and_then(|k| k.get(&recipe_id).copied());
        let key = match known {
            Some(key) => key,
            None => {
                let Some(recipe) = self.repo.begin_read().await?.get_recipe(recipe_id).await? else {
                    return Ok(None);
                };
                let key = recipe.top_level_key();
                self.remember_top_level(recipe_id, key);
                key
            }
        };
        match key {
            Some((type_id, revision_num)) => Ok(Some(self.plan(type_id, revision_num).await?.1)),
            None => Ok(None),
        }
    }

    /// Remembers a recipe's [`Recipe::top_level_key`], so its notices need
    /// not read it: set when this process creates it, else on its first
    /// notice.
    fn remember_top_level(&self, recipe_id: i64, key: Option<(i64, i64)>) {
        if let Ok(mut known) = self.top_level.lock() {
            // Bounded: forgetting only costs a read.
            if known.len() >= TOP_LEVEL_REMEMBERED {
                known.clear();
            }
            known.insert(recipe_id, key);
        }
    }

    /// One recipe's notices in one transaction, stepping the recipe there
    /// too when it is a top-level one.
    async fn apply_recipe_notices(
        &self,
        recipe_id: i64,
        notices: &[JobNotice],
        plan: Option<&Plan>,
    ) -> Result<(Vec<NodeRecord>, Vec<i64>)> {
        let mut tx = self.repo.begin().await?;
        let at = now();
        let ids: Vec<&str> = notices.iter().map(|n| n.notice_id.as_str()).collect();
        let recorded: BTreeSet<String> = tx.record_notices(&ids, at).await?.into_iter().collect();
        let fresh: Vec<&JobNotice> = notices.iter().filter(|n| recorded.contains(&n.notice_id)).collect();
        if fresh.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }
        let mut stepped = (Vec::new(), Vec::new());
        let mut status_change = None;
        let mut applied = Vec::new();
        let mut unknown = Vec::new();
        let mut canceled = false;
        if let Some(mut recipe) = tx.lock_recipe(recipe_id, false).await? {
            canceled = recipe.canceled;
            let was_running = recipe.status == RecipeStatus::Running;
            let mut nodes = nodes_by_name(tx.nodes(recipe.id).await?);
            let mut changed = BTreeSet::new();
            let mut step_now = false;
            for notice in fresh {
                if !nodes.contains_key(&notice.recipe_node) {
                    unknown.push(notice);
                    continue;
                }
                if apply_fresh(&mut nodes, notice, at) {
                    changed.insert(notice.recipe_node.clone());
                    applied.push((notice.recipe_node.clone(), notice.status));
                    // Only a job that ended can let another node run, and only a
                    // job queued again (a retry) can move a failed recipe.
                    step_now |= !(was_running && matches!(notice.status, JobStatus::Registered | JobStatus::Working));
                }
            }
            match (plan, changed.is_empty() && unknown.is_empty()) {
                (_, true) => {}
                // A top-level recipe steps here: its counts are current at
                // once, and the next jobs are made in the same commit (and
                // written with the changed rows, in one statement).
                (Some(plan), false) if recipe.parent_recipe_id.is_none() => {
                    let before = recipe.status;
                    stepped = self
                        .step_locked(tx.as_mut(), &mut recipe, nodes.into_values().collect(), changed, plan)
                        .await?;
                    // A job made by a step whose commit was lost can be heard
                    // of before that step is taken again: this step made its
                    // node's row (the same key, so the same job), and its
                    // notices apply now, stepping the recipe on.
                    if !unknown.is_empty() {
                        let mut nodes = nodes_by_name(tx.nodes(recipe.id).await?);
                        let mut changed = BTreeSet::new();
                        for notice in std::mem::take(&mut unknown) {
                            if !nodes.contains_key(&notice.recipe_node) {
                                unknown.push(notice);
                            } else if apply_fresh(&mut nodes, notice, at) {
                                changed.insert(notice.recipe_node.clone());
                                applied.push((notice.recipe_node.clone(), notice.status));
                            }
                        }
                        if !changed.is_empty() {
                            let (intents, next) = self
                                .step_locked(tx.as_mut(), &mut recipe, nodes.into_values().collect(), changed, plan)
                                .await?;
                            stepped.0.extend(intents);
                            stepped.1.extend(next);
                        }
                    }
                    status_change = Some((recipe, before));
                }
                // A sub-recipe steps after this commit (its parent is locked
                // first); a queued or claimed job of a running one changes its
                // counts alone, which the background task brings up to date.
                _ => {
                    let rows: Vec<&NodeRecord> = changed.iter().filter_map(|name| nodes.get(name)).collect();
                    tx.put_nodes(&rows).await?;
                    tx.mark_needs_step(recipe.id).await?;
                    if step_now {
                        stepped.1.push(recipe.id);
                    }
                }
            }
        }
        tx.commit().await?;
        if let Some((recipe, before)) = &status_change {
            log_status_change(recipe, *before);
        }
        for (node, status) in &applied {
            tracing::debug!(recipe_id, node = %node, ?status, "job notice applied");
        }
        if !applied.is_empty() {
            self.changed(recipe_id);
        }
        self.settle_unknown(recipe_id, canceled, &unknown).await;
        Ok(stepped)
    }

    /// Notices no step of their recipe accounts for: logged and dropped,
    /// and a job still queued or working of a cancelled recipe cancelled
    /// (made by a step whose commit was lost before the cancel came).
    async fn settle_unknown(&self, recipe_id: i64, canceled: bool, unknown: &[&JobNotice]) {
        for notice in unknown {
            tracing::warn!(recipe_id, node = %notice.recipe_node, job_id = %notice.job_id, "notice of a job its recipe does not know; dropped");
            if canceled
                && matches!(notice.status, JobStatus::Registered | JobStatus::Working)
                && let Err(e) = self.jobs.cancel(&notice.job_id, "recipe cancelled").await
            {
                tracing::warn!(recipe_id, job_id = %notice.job_id, error = %e, "cancelling a job of a cancelled recipe failed");
            }
        }
    }

    /// Sends the intents' jobs on a task of its own; what it cannot send is
    /// logged and retried by the background task.
    pub fn submit_soon(self: &Arc<Self>, intents: Vec<NodeRecord>) {
        if intents.is_empty() {
            return;
        }
        let recipes = self.clone();
        tokio::spawn(async move {
            let _logged = recipes.submit_intents(&intents).await;
        });
    }

    /// Steps the recipe on a task of its own, soon: a step asked for while
    /// one of the same recipe is under way runs once more after it, rather
    /// than beside it. The event is committed (the recipe needs a step), so
    /// the background task takes it up should this process stop first.
    pub fn step_soon(self: &Arc<Self>, id: i64) {
        {
            let Ok(mut stepping) = self.stepping.lock() else { return };
            if let Some(again) = stepping.get_mut(&id) {
                *again = true;
                return;
            }
            stepping.insert(id, false);
        }
        let recipes = self.clone();
        tokio::spawn(async move {
            loop {
                {
                    let _permit = recipes.step_permits.acquire().await;
                    recipes.step_logged(id).await;
                }
                let Ok(mut stepping) = recipes.stepping.lock() else {
                    return;
                };
                match stepping.get_mut(&id) {
                    Some(again) if *again => *again = false,
                    _ => {
                        stepping.remove(&id);
                        return;
                    }
                }
            }
        });
    }

    /// How many recipes are in each status (for the metrics).
    pub async fn count_by_status(&self) -> Result<Vec<(RecipeStatus, i64)>> {
        let mut out = Vec::new();
        let mut tx = self.repo.begin_read().await?;
        for status in [
            RecipeStatus::Running,
            RecipeStatus::Completed,
            RecipeStatus::Failed,
            RecipeStatus::Canceled,
        ] {
            let filter = RecipeFilter {
                statuses: vec![status],
                ..RecipeFilter::default()
            };
            let (count, _) = tx.list_recipes(&filter, 0, 0).await?;
            out.push((status, count));
        }
        Ok(out)
    }
}

fn nodes_by_name(nodes: Vec<NodeRecord>) -> HashMap<String, NodeRecord> {
    nodes.into_iter().map(|n| (n.node_name.clone(), n)).collect()
}

/// Applies the notice to its node unless the node shows a newer job version
/// or another job (a job made by hand under this recipe's id and node name
/// must not take the node over); true when applied.
fn apply_fresh(nodes: &mut HashMap<String, NodeRecord>, notice: &JobNotice, at: i64) -> bool {
    match nodes.get_mut(&notice.recipe_node) {
        Some(node) if node.job_id.as_ref().is_some_and(|id| *id != notice.job_id) => {
            tracing::warn!(recipe_id = node.recipe_id, node = %node.node_name, job_id = %notice.job_id, "notice of a job that is not the node's; ignored");
            false
        }
        Some(node) if notice.job_version > node.job_version => {
            apply_notice(node, notice, at);
            true
        }
        _ => false,
    }
}

/// A notice's job status, results and version on its node.
fn apply_notice(node: &mut NodeRecord, notice: &JobNotice, at: i64) {
    node.state = NodeRowState::Job(notice.status);
    node.job_id = Some(notice.job_id.clone());
    node.job_version = notice.job_version;
    node.results = match notice.status {
        JobStatus::Completed => notice.results_json.clone(),
        _ => None,
    };
    node.finished_at = (notice.status == JobStatus::Completed).then_some(at);
    if !node.job_is_active() {
        node.cancel_pending = false;
    }
    node.last_modified = at;
}
