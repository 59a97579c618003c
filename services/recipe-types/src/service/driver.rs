//! The engine driver: after every event, step the recipe once under its row
//! lock, taking every action the engine names, in one transaction; a
//! background task retries what a crash or an unreachable job-queue left
//! unfinished.
//!
//! Exactly-once in effect: a job node's job is asked for under the key
//! `recipe:{id}:{node}:{generation}`, and job-queue returns the job already
//! made for a key it has seen, so a repeated submit (after a crash, or by a
//! second replica) creates nothing.
//!
//! A top-level recipe's step asks job-queue for its jobs while it holds the
//! recipe's row, and writes their ids with the rest of the step: one commit,
//! and nothing between a dependency's notice and the next job but the step.
//! Should that commit be lost (a crash, a dropped connection), the jobs exist
//! and the recipe does not show them, but the event that called for the step
//! is still there (its notice unacknowledged, or the recipe still marked as
//! needing a step), so the step is taken again: the engine is deterministic,
//! asks under the same keys and gets the same jobs. A notice of such a job
//! that arrives first finds no row for its node and waits for the step taken
//! in its own transaction (see `Recipes::apply_job_notices`). A sub-recipe's
//! step (whose parent is locked first), every step on SQLite (where a write
//! transaction holds the whole database), and a submit that fails or times
//! out commit the intent first (CREATING, no job id) and ask job-queue after.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

/// How long an applied notice is remembered against a redelivery (which comes
/// within seconds: between recipe-types applying it and job-queue deleting it).
pub const NOTICE_RETENTION: Duration = Duration::from_secs(7 * 86_400);
const NOTICE_PURGE_INTERVAL: Duration = Duration::from_secs(3600);

use prometheus::HistogramVec;
use serde_json::Value;

use super::recipes::{Recipes, node_children};
use crate::definition::{Definition, JobTypeKey, Resolved, parse_definition};
use crate::domain::RecipeTypeId;
use crate::engine::{Action, RecipeData, RecipeStatus, next_actions, recipe_counts, recipe_status};
use crate::error::{Error, Result};
use crate::jobs::JobSubmission;
use crate::recipe::{NodeKindTag, NodeRecord, NodeRowState, Recipe, recipe_state};
use crate::repository::Transaction;

/// Dependency finished → next job submitted.
static SCHEDULING_LATENCY: LazyLock<HistogramVec> = LazyLock::new(|| {
    brigade_common::metrics::histogram(
        "brigade_recipe_node_scheduling_seconds",
        "Time from a recipe node's last dependency finishing to its job being submitted",
        &[],
    )
});

/// How long a step holds its recipe's row waiting for job-queue to make the
/// step's jobs; past it they are sent after the commit, by the background task.
const IN_STEP_SUBMIT: Duration = Duration::from_secs(2);
/// How long an intent may stay unconfirmed before the background task retries it.
const RETRY_AFTER: Duration = Duration::from_secs(2);
/// How often the background task looks for work.
const TICK: Duration = Duration::from_millis(250);
const BATCH: i64 = 100;

/// A recipe type revision, parsed, with its job types resolved.
pub struct Plan {
    pub def: Definition,
    pub resolved: Resolved,
    /// job-queue's service id of each job type.
    pub services: HashMap<JobTypeKey, String>,
    /// Whether any node is a sub-recipe.
    pub has_sub_recipes: bool,
}

/// Parsed revisions by (recipe type id, revision number), with the
/// revision's id: a revision never changes, nor does the job type revision it
/// names.
#[derive(Default)]
pub struct PlanCache {
    plans: Mutex<HashMap<PlanKey, (i64, Arc<Plan>)>>,
}

/// (recipe type id, revision number).
type PlanKey = (i64, i64);

pub(super) fn now() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

fn corrupt(what: &str) -> Error {
    Error::Internal(format!("stored {what} cannot be read"))
}

impl Recipes {
    /// The plan of a recipe type revision; job-queue is asked outside any
    /// write transaction.
    pub(crate) async fn plan(&self, recipe_type_id: i64, revision_num: i64) -> Result<(i64, Arc<Plan>)> {
        let key = (recipe_type_id, revision_num);
        if let Some(found) = self.plans.plans.lock().ok().and_then(|p| p.get(&key).cloned()) {
            return Ok(found);
        }
        let mut tx = self.repo.begin_read().await?;
        let revision = tx
            .get_revision(RecipeTypeId(recipe_type_id), revision_num)
            .await?
            .ok_or_else(|| Error::Internal(format!("revision {revision_num} of type {recipe_type_id} is missing")))?;
        let value: Value = serde_json::from_str(&revision.definition).map_err(|_| corrupt("definition"))?;
        let def = parse_definition(&value).map_err(|_| corrupt("definition"))?;
        let (resolved, infos) = self.types.resolve(tx.as_mut(), &def).await?;
        let services = infos
            .into_iter()
            .filter_map(|(k, info)| info.map(|i| (k, i.service_id)))
            .collect();
        let has_sub_recipes = def
            .nodes()
            .iter()
            .any(|n| matches!(n.kind, crate::definition::NodeKind::Recipe { .. }));
        let plan = Arc::new(Plan {
            def,
            resolved,
            services,
            has_sub_recipes,
        });
        if let Ok(mut plans) = self.plans.plans.lock() {
            plans.insert(key, (revision.id, plan.clone()));
        }
        Ok((revision.id, plan))
    }

    /// Steps a recipe whose `needs_step` is set: takes every action the
    /// engine names, then submits the jobs. `skip_locked`: leave a recipe
    /// another replica is stepping (the background task), rather than wait.
    pub(crate) async fn step(&self, recipe_id: i64, skip_locked: bool) -> Result<()> {
        let mut pending = vec![recipe_id];
        let mut skip = skip_locked;
        while let Some(id) = pending.pop() {
            let Some(recipe) = self.repo.begin_read().await?.get_recipe(id).await? else {
                continue;
            };
            let (_, plan) = self.plan(recipe.recipe_type_id, recipe.revision_num).await?;
            let (intents, also) = self.step_once(id, recipe.parent_recipe_id, &plan, skip).await?;
            self.changed(id);
            // A fan-out's jobs go to job-queue as one batch, not one round trip after another.
            // Each job it could not submit is logged; the background task retries them.
            let _deferred = self.submit_intents(&intents).await;
            pending.extend(also);
            skip = false;
        }
        Ok(())
    }

    /// One transaction: lock, act, record. Returns the job intents to send
    /// and the recipes (children started, a parent to move on) to step next.
    async fn step_once(
        &self,
        id: i64,
        parent: Option<i64>,
        plan: &Plan,
        skip_locked: bool,
    ) -> Result<(Vec<NodeRecord>, Vec<i64>)> {
        let mut tx = self.repo.begin().await?;
        // Parents are always locked before their children (as a cancel
        // does), so a child's step and its parent's cancel cannot deadlock.
        if let Some(parent) = parent
            && tx.lock_recipe(parent, skip_locked).await?.is_none()
        {
            return Ok((Vec::new(), Vec::new()));
        }
        let Some(mut recipe) = tx.lock_recipe(id, skip_locked).await? else {
            return Ok((Vec::new(), Vec::new()));
        };
        if !recipe.needs_step {
            return Ok((Vec::new(), Vec::new()));
        }
        let nodes = tx.nodes(id).await?;
        let before = recipe.status;
        let stepped = self
            .step_locked(tx.as_mut(), &mut recipe, nodes, BTreeSet::new(), plan)
            .await?;
        tx.commit().await?;
        log_status_change(&recipe, before);
        Ok(stepped)
    }

    /// The step itself, in the caller's transaction, on the locked recipe
    /// and its node rows as they stand: takes every action the engine names,
    /// writes the acted-on rows, with the `changed` ones the caller has not
    /// written yet, and the recipe's status and counts. Returns
    /// the job intents to send once committed, and the recipes (children
    /// started, a parent to move on) to step next.
    pub(super) async fn step_locked(
        &self,
        tx: &mut dyn Transaction,
        recipe: &mut Recipe,
        mut nodes: Vec<NodeRecord>,
        changed: BTreeSet<String>,
        plan: &Plan,
    ) -> Result<(Vec<NodeRecord>, Vec<i64>)> {
        let id = recipe.id;
        let input: RecipeData = serde_json::from_str::<Value>(&recipe.input)
            .ok()
            .and_then(|v| crate::engine::validate_recipe_input(plan.def.input_interface(), &v).ok())
            .ok_or_else(|| corrupt("recipe input"))?;
        // A definition without sub-recipe nodes has no children to read.
        let mut children = if plan.has_sub_recipes {
            node_children(tx, id, &nodes).await?
        } else {
            HashMap::new()
        };
        let mut intents = Vec::new();
        let mut next = Vec::new();
        let mut written = changed;
        let at = now();
        for _ in 0..=plan.def.nodes().len() {
            let state = recipe_state(recipe, &nodes, &children);
            let actions = next_actions(&plan.def, &plan.resolved, &input, &state);
            if actions.is_empty() {
                break;
            }
            for action in actions {
                let ready_at = ready_at(plan, &nodes, action.node());
                let mut record = self.act(tx, recipe, plan, action, at).await?;
                record.ready_at = ready_at;
                if let Some(child_id) = record.child_recipe_id
                    && let Some(child) = tx.get_recipe(child_id).await?
                {
                    children.insert(child_id, child);
                    next.push(child_id);
                }
                if record.state == NodeRowState::Creating {
                    intents.push(record.clone());
                }
                nodes.retain(|n| n.node_name != record.node_name);
                written.insert(record.node_name.clone());
                nodes.push(record);
            }
        }
        if self.submit_in_step && recipe.parent_recipe_id.is_none() && !intents.is_empty() {
            // A top-level recipe's jobs are asked for while its row is locked,
            // and their ids written with the step's rows (see the module doc).
            let made = self.submit_in_step(&intents).await;
            for node in &mut nodes {
                if let Some(job_id) = made.get(&node.node_name) {
                    node.job_id = Some(job_id.clone());
                    node.state = NodeRowState::Job(crate::engine::JobStatus::Registered);
                }
            }
            // Those job-queue did not make just now wait for the background
            // task, as after a crash.
            intents.clear();
        }
        let rows: Vec<&NodeRecord> = nodes.iter().filter(|n| written.contains(&n.node_name)).collect();
        tx.put_nodes(&rows).await?;
        let state = recipe_state(recipe, &nodes, &children);
        let status = recipe_status(&plan.def, &state);
        recipe.status = status;
        recipe.counts = recipe_counts(&plan.def, &state);
        recipe.needs_step = false;
        recipe.completed = match status {
            RecipeStatus::Completed => recipe.completed.or(Some(at)),
            _ => None,
        };
        recipe.ended = match status {
            RecipeStatus::Running => None,
            _ => recipe.ended.or(Some(at)),
        };
        recipe.last_modified = at;
        tx.update_recipe(recipe).await?;
        if let Some(parent) = recipe.parent_recipe_id {
            // The parent shows this recipe's counts and moves on when it ends.
            tx.mark_needs_step(parent).await?;
            next.push(parent);
        }
        Ok((intents, next))
    }

    /// Records one action's intent or outcome as a node row.
    async fn act(
        &self,
        tx: &mut dyn Transaction,
        recipe: &Recipe,
        plan: &Plan,
        action: Action,
        at: i64,
    ) -> Result<NodeRecord> {
        Ok(match action {
            Action::CreateJob {
                node,
                job_type,
                parameters,
            } => {
                let Some(service_id) = plan.services.get(&job_type) else {
                    let mut r = NodeRecord::new(recipe.id, &node, NodeKindTag::InputError, NodeRowState::Failed, at);
                    r.error = serde_json::to_string(&crate::definition::Message::new(
                        "JOB_TYPE_NOT_FOUND",
                        format!(
                            "job type {} {} revision {} no longer exists",
                            job_type.name, job_type.version, job_type.revision
                        ),
                    ))
                    .ok();
                    return Ok(r);
                };
                let mut r = NodeRecord::new(recipe.id, &node, NodeKindTag::Job, NodeRowState::Creating, at);
                r.idempotency_key = Some(NodeRecord::job_key(recipe.id, &node, r.generation));
                r.service_id = Some(service_id.clone());
                r.parameters = Some(parameters.to_string());
                r
            }
            Action::EvaluateCondition { node, accepted, data } => {
                let mut r = NodeRecord::new(recipe.id, &node, NodeKindTag::Condition, NodeRowState::Evaluated, at);
                r.accepted = Some(accepted);
                r.condition_data = Some(Value::Object(data).to_string());
                r.finished_at = Some(at);
                r
            }
            Action::StartSubRecipe {
                node,
                recipe_type,
                input,
            } => {
                let rt = tx
                    .get(&recipe_type.name)
                    .await?
                    .ok_or_else(|| Error::Internal(format!("sub-recipe type {} is missing", recipe_type.name)))?;
                let revision = tx.get_revision(rt.id, recipe_type.revision).await?.ok_or_else(|| {
                    Error::Internal(format!("sub-recipe revision {} is missing", recipe_type.revision))
                })?;
                let child = Recipe {
                    id: 0,
                    recipe_type_id: rt.id.0,
                    revision_id: revision.id,
                    revision_num: revision.revision_num,
                    input: input.to_json().to_string(),
                    configuration: recipe.configuration.clone(),
                    status: RecipeStatus::Running,
                    counts: Default::default(),
                    canceled: false,
                    parent_recipe_id: Some(recipe.id),
                    parent_node: Some(node.clone()),
                    root_recipe_id: Some(recipe.root_recipe_id.unwrap_or(recipe.id)),
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
                let child_id = tx.insert_recipe(&child).await?;
                let mut r = NodeRecord::new(recipe.id, &node, NodeKindTag::Recipe, NodeRowState::Started, at);
                r.child_recipe_id = Some(child_id);
                r
            }
            Action::FailNode { node, error } => {
                let mut r = NodeRecord::new(recipe.id, &node, NodeKindTag::InputError, NodeRowState::Failed, at);
                r.error = serde_json::to_string(&error).ok();
                r.finished_at = Some(at);
                r
            }
        })
    }

    /// Asks job-queue for the intents' jobs (idempotent by key) from inside
    /// the step's transaction, within [`IN_STEP_SUBMIT`]: the job id of each
    /// node whose job was made. An intent left out stays CREATING and is
    /// sent again once committed (by the background task).
    async fn submit_in_step(&self, intents: &[NodeRecord]) -> HashMap<String, String> {
        let (wanted, submissions): (Vec<&NodeRecord>, Vec<JobSubmission>) =
            intents.iter().filter_map(|i| submission(i).map(|s| (i, s))).unzip();
        let Ok(outcomes) = tokio::time::timeout(IN_STEP_SUBMIT, self.jobs.submit_many(&submissions)).await else {
            tracing::warn!(
                jobs = submissions.len(),
                "job submit timed out in the step; the background task sends them"
            );
            return HashMap::new();
        };
        let at = now();
        let mut made = HashMap::new();
        for (intent, outcome) in wanted.into_iter().zip(outcomes) {
            match outcome {
                Ok(job_id) => {
                    observe_scheduled(intent, at);
                    tracing::debug!(recipe_id = intent.recipe_id, node = %intent.node_name, job_id = %job_id, "recipe job submitted");
                    made.insert(intent.node_name.clone(), job_id);
                }
                Err(e) => {
                    tracing::warn!(recipe_id = intent.recipe_id, node = %intent.node_name, error = %e, "job submit deferred");
                }
            }
        }
        made
    }

    /// Asks job-queue for the intents' jobs (idempotent by key), one batch
    /// per service, and stores their ids, one transaction per recipe. Logs
    /// each job it could not submit or record, and returns the first such error.
    pub(crate) async fn submit_intents(&self, intents: &[NodeRecord]) -> Result<()> {
        let (wanted, submissions): (Vec<&NodeRecord>, Vec<JobSubmission>) =
            intents.iter().filter_map(|i| submission(i).map(|s| (i, s))).unzip();
        if wanted.is_empty() {
            return Ok(());
        }
        let outcomes = self.jobs.submit_many(&submissions).await;
        let at = now();
        let mut by_recipe: BTreeMap<i64, HashMap<&str, String>> = BTreeMap::new();
        let mut deferred = None;
        for (intent, outcome) in wanted.into_iter().zip(outcomes) {
            let job_id = match outcome {
                Ok(job_id) => job_id,
                Err(e) => {
                    tracing::warn!(recipe_id = intent.recipe_id, node = %intent.node_name, error = %e, "job submit deferred");
                    deferred.get_or_insert(e);
                    continue;
                }
            };
            observe_scheduled(intent, at);
            by_recipe
                .entry(intent.recipe_id)
                .or_default()
                .insert(intent.node_name.as_str(), job_id);
        }
        for (recipe_id, jobs) in by_recipe {
            if let Err(e) = self.record_job_ids(recipe_id, &jobs).await {
                tracing::warn!(recipe_id, jobs = jobs.len(), error = %e, "recording submitted jobs deferred");
                deferred.get_or_insert(e);
            }
        }
        deferred.map_or(Ok(()), Err)
    }

    /// Stores the job id of each named node of a recipe (kept if one is
    /// there already), then sends the cancels a recipe cancelled meanwhile needs.
    async fn record_job_ids(&self, recipe_id: i64, jobs: &HashMap<&str, String>) -> Result<()> {
        let mut tx = self.repo.begin().await?;
        let Some(recipe) = tx.lock_recipe(recipe_id, false).await? else {
            return Ok(());
        };
        let mut cancels = Vec::new();
        let mut rows = Vec::new();
        for mut node in tx.nodes(recipe_id).await? {
            let Some(job_id) = jobs.get(node.node_name.as_str()) else {
                continue;
            };
            if node.job_id.is_none() {
                node.job_id = Some(job_id.clone());
                if node.state == NodeRowState::Creating {
                    node.state = NodeRowState::Job(crate::engine::JobStatus::Registered);
                }
                // A recipe cancelled while the job was being made cancels it now.
                node.cancel_pending = node.cancel_pending || recipe.canceled;
                node.last_modified = now();
                rows.push(node.clone());
            }
            tracing::debug!(recipe_id, node = %node.node_name, job_id = %job_id, "recipe job submitted");
            if node.cancel_pending {
                cancels.push(node);
            }
        }
        tx.put_nodes(&rows.iter().collect::<Vec<_>>()).await?;
        tx.commit().await?;
        for node in cancels {
            self.send_cancel(&node).await?;
        }
        self.changed(recipe_id);
        Ok(())
    }

    /// Cancels a node's job in job-queue and clears the pending cancel.
    pub(crate) async fn send_cancel(&self, node: &NodeRecord) -> Result<()> {
        let Some(job_id) = &node.job_id else { return Ok(()) };
        self.jobs.cancel(job_id, "recipe cancelled").await?;
        let mut tx = self.repo.begin().await?;
        if tx.lock_recipe(node.recipe_id, false).await?.is_some()
            && let Some(mut row) = tx
                .nodes(node.recipe_id)
                .await?
                .into_iter()
                .find(|n| n.node_name == node.node_name)
        {
            row.cancel_pending = false;
            // job-queue's own notice (newer job version) replaces this if the
            // job had finished meanwhile.
            if row.job_is_active() {
                row.state = NodeRowState::Job(crate::engine::JobStatus::Canceled);
            }
            row.last_modified = now();
            tx.put_node(&row).await?;
        }
        tx.commit().await?;
        self.changed(node.recipe_id);
        Ok(())
    }

    /// One pass of the background task: unfinished intents and cancels,
    /// then recipes with an event not stepped on.
    pub async fn tick(&self) -> Result<()> {
        let before = now() - RETRY_AFTER.as_micros() as i64;
        let unfinished = self.repo.begin_read().await?.unfinished_nodes(before, BATCH).await?;
        let (intents, cancels): (Vec<_>, Vec<_>) = unfinished
            .into_iter()
            .partition(|n| n.job_id.is_none() && n.state == NodeRowState::Creating);
        // Each job it could not submit is logged; the next pass tries again.
        let _deferred = self.submit_intents(&intents).await;
        for node in cancels {
            if let Err(e) = self.send_cancel(&node).await {
                tracing::warn!(recipe_id = node.recipe_id, node = %node.node_name, error = %e, "cancel retry deferred");
            }
        }
        let ids = self.repo.begin_read().await?.recipes_to_step(BATCH).await?;
        for id in ids {
            if let Err(e) = self.step(id, true).await {
                tracing::warn!(recipe_id = id, error = %e, "recipe step deferred");
            }
        }
        Ok(())
    }

    /// Forgets applied notices older than [`NOTICE_RETENTION`], so the
    /// table of seen notices does not grow without end.
    pub async fn purge_notices(&self) -> Result<u64> {
        let before = now() - i64::try_from(NOTICE_RETENTION.as_micros()).unwrap_or(i64::MAX);
        let mut tx = self.repo.begin().await?;
        let purged = tx.purge_notices(before).await?;
        tx.commit().await?;
        Ok(purged)
    }

    /// Runs [`Recipes::tick`] until `shutdown` resolves, and the notice purge
    /// once at start and then every [`NOTICE_PURGE_INTERVAL`].
    pub async fn run_background(self: Arc<Self>, shutdown: impl std::future::Future<Output = ()> + Send) {
        tokio::pin!(shutdown);
        let mut interval = tokio::time::interval(TICK);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut purge = tokio::time::interval(NOTICE_PURGE_INTERVAL);
        purge.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = &mut shutdown => return,
                _ = interval.tick() => {
                    if let Err(e) = self.tick().await {
                        tracing::warn!(error = %e, "recipe background pass failed");
                    }
                }
                _ = purge.tick() => {
                    match self.purge_notices().await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(purged = n, "forgot applied notices past their retention"),
                        Err(e) => tracing::warn!(error = %e, "notice purge failed"),
                    }
                }
            }
        }
    }
}

/// Logs a step's status change, once it is committed.
pub(super) fn log_status_change(recipe: &Recipe, before: RecipeStatus) {
    if recipe.status != before {
        tracing::info!(
            recipe_id = recipe.id,
            status = recipe.status.as_str(),
            "recipe status changed"
        );
    }
}

/// The job-queue submission of a job node's intent.
fn submission(intent: &NodeRecord) -> Option<JobSubmission> {
    let (Some(key), Some(service_id)) = (&intent.idempotency_key, &intent.service_id) else {
        return None;
    };
    Some(JobSubmission {
        service_id: service_id.clone(),
        parameters_json: intent.parameters.clone().unwrap_or_else(|| "{}".to_owned()),
        idempotency_key: key.clone(),
        recipe_id: intent.recipe_id.to_string(),
        recipe_node: intent.node_name.clone(),
    })
}

/// Records a node's scheduling latency, its job just made at `at`.
fn observe_scheduled(intent: &NodeRecord, at: i64) {
    if let Some(ready) = intent.ready_at {
        SCHEDULING_LATENCY
            .with_label_values::<&str>(&[])
            .observe((at - ready).max(0) as f64 / 1e6);
    }
}

/// When the node's last finished dependency finished.
fn ready_at(plan: &Plan, nodes: &[NodeRecord], name: &str) -> Option<i64> {
    let node = plan.def.node(name)?;
    node.dependencies
        .iter()
        .filter_map(|d| nodes.iter().find(|n| n.node_name == d.name).and_then(|n| n.finished_at))
        .max()
}

#[cfg(test)]
#[path = "driver_tests.rs"]
mod tests;
