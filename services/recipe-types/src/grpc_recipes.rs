//! Wire messages of the recipe RPCs: requests into domain values (failures
//! are `InvalidArgument`), recipe views back into `Recipe` messages.

use std::collections::BTreeSet;

use brigade_common::limits;
use brigade_proto::recipetypes::v1 as pb;
use prost_types::Timestamp;
use serde_json::Value;

use crate::definition::ForcedNodes;
use crate::engine::{JobStatus, RecipeCounts, RecipeStatus};
use crate::error::Error;
use crate::grpc::{summary, timestamp};
use crate::recipe::{RecipeFilter, parse_recipe_order};
use crate::service::recipes::{JobNotice, NewRecipe, RecipeView, TypeRef};

fn invalid(message: impl Into<String>) -> Error {
    Error::InvalidArgument(message.into())
}

fn json_field(name: &str, text: &str) -> Result<Value, Error> {
    serde_json::from_str(text).map_err(|_| invalid(format!("Parameter must be valid JSON: \"{name}\"")))
}

impl TryFrom<pb::CreateRecipeRequest> for NewRecipe {
    type Error = Error;

    fn try_from(r: pb::CreateRecipeRequest) -> Result<Self, Error> {
        let recipe_type = match (r.recipe_type_id, r.recipe_type_name.is_empty()) {
            (id, true) if id > 0 => TypeRef::Id(id),
            (0, false) => TypeRef::Name(r.recipe_type_name),
            (0, true) => return Err(invalid("Missing required parameter: \"recipe_type_id\"")),
            _ => {
                return Err(invalid(
                    "Give one of \"recipe_type_id\" and \"recipe_type_name\", not both",
                ));
            }
        };
        let input = if r.input_json.is_empty() {
            return Err(invalid("Missing required parameter: \"input\""));
        } else {
            json_field("input", &r.input_json)?
        };
        Ok(Self {
            recipe_type,
            revision_num: r.revision_num,
            input,
            configuration: r
                .configuration_json
                .map(|c| json_field("configuration", &c))
                .transpose()?,
        })
    }
}

fn micros(t: &Timestamp) -> i64 {
    t.seconds.saturating_mul(1_000_000) + i64::from(t.nanos) / 1000
}

fn status_from_pb(s: i32) -> Result<RecipeStatus, Error> {
    Ok(match pb::RecipeStatus::try_from(s) {
        Ok(pb::RecipeStatus::Running) => RecipeStatus::Running,
        Ok(pb::RecipeStatus::Completed) => RecipeStatus::Completed,
        Ok(pb::RecipeStatus::Failed) => RecipeStatus::Failed,
        Ok(pb::RecipeStatus::Canceled) => RecipeStatus::Canceled,
        _ => return Err(invalid(format!("Invalid recipe status: {s}"))),
    })
}

fn status_to_pb(s: RecipeStatus) -> pb::RecipeStatus {
    match s {
        RecipeStatus::Running => pb::RecipeStatus::Running,
        RecipeStatus::Completed => pb::RecipeStatus::Completed,
        RecipeStatus::Failed => pb::RecipeStatus::Failed,
        RecipeStatus::Canceled => pb::RecipeStatus::Canceled,
    }
}

/// The filter; recipe type names resolve to ids in the service.
pub fn list_filter(r: &pb::ListRecipesRequest) -> Result<RecipeFilter, Error> {
    for (field, result) in [
        ("recipe_ids", limits::check_filter_count(r.recipe_ids.len())),
        ("recipe_type_ids", limits::check_filter_count(r.recipe_type_ids.len())),
        ("recipe_type_names", limits::check_text_filter(&r.recipe_type_names)),
        ("statuses", limits::check_filter_count(r.statuses.len())),
        ("root_recipe_ids", limits::check_filter_count(r.root_recipe_ids.len())),
        ("order", limits::check_text_filter(&r.order)),
    ] {
        result.map_err(|e| Error::InvalidArgument(format!("{field}: {e}")))?;
    }
    Ok(RecipeFilter {
        recipe_ids: r.recipe_ids.clone(),
        recipe_type_ids: r.recipe_type_ids.clone(),
        statuses: r
            .statuses
            .iter()
            .map(|s| status_from_pb(*s))
            .collect::<Result<_, _>>()?,
        started: r.started.as_ref().map(micros),
        ended: r.ended.as_ref().map(micros),
        is_superseded: r.is_superseded,
        is_completed: r.is_completed,
        root_recipe_ids: r.root_recipe_ids.clone(),
        order: parse_recipe_order(&r.order).map_err(Error::InvalidArgument)?,
    })
}

pub fn forced_from_pb(f: Option<pb::ForcedNodes>) -> ForcedNodes {
    let Some(f) = f else { return ForcedNodes::default() };
    ForcedNodes {
        all: f.all,
        nodes: f.nodes.into_iter().collect::<BTreeSet<_>>(),
        sub_recipes: f
            .sub_recipes
            .into_iter()
            .map(|(name, sub)| (name, forced_from_pb(Some(sub))))
            .collect(),
    }
}

impl TryFrom<pb::NotifyJobStatusRequest> for JobNotice {
    type Error = Error;

    fn try_from(r: pb::NotifyJobStatusRequest) -> Result<Self, Error> {
        if r.notice_id.is_empty() {
            return Err(invalid("Missing required parameter: \"notice_id\""));
        }
        let recipe_id = r
            .recipe_id
            .parse::<i64>()
            .map_err(|_| invalid(format!("Invalid recipe id: {:?}", r.recipe_id)))?;
        let status = match JobStatus::parse(&r.status) {
            Some(JobStatus::Error) if r.cancelled => JobStatus::Canceled,
            Some(JobStatus::Canceled) | None => return Err(invalid(format!("Invalid job status: {:?}", r.status))),
            Some(s) => s,
        };
        Ok(Self {
            notice_id: r.notice_id,
            job_id: r.job_id,
            recipe_id,
            recipe_node: r.recipe_node,
            status,
            results_json: r.results_json,
            job_version: r.job_version,
        })
    }
}

fn count(n: u64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn counts_to_pb(c: &RecipeCounts) -> pb::RecipeCounts {
    pb::RecipeCounts {
        jobs_total: count(c.jobs_total),
        jobs_pending: count(c.jobs_pending),
        jobs_blocked: count(c.jobs_blocked),
        jobs_queued: count(c.jobs_queued),
        jobs_running: count(c.jobs_running),
        jobs_failed: count(c.jobs_failed),
        jobs_completed: count(c.jobs_completed),
        jobs_canceled: count(c.jobs_canceled),
        sub_recipes_total: count(c.sub_recipes_total),
        sub_recipes_completed: count(c.sub_recipes_completed),
    }
}

pub fn recipe_to_pb(v: RecipeView) -> pb::Recipe {
    let r = &v.recipe;
    pb::Recipe {
        id: r.id,
        recipe_type: Some(summary(&v.recipe_type)),
        recipe_type_rev_id: r.revision_id,
        revision_num: r.revision_num,
        parent_recipe_id: r.parent_recipe_id,
        is_superseded: r.is_superseded,
        superseded_recipe_id: r.superseded_recipe_id,
        superseded_by_recipe_id: r.superseded_by_recipe_id,
        input_json: r.input.clone(),
        configuration_json: r.configuration.clone(),
        status: status_to_pb(r.status).into(),
        counts: Some(counts_to_pb(&r.counts)),
        created: Some(timestamp(r.created)),
        completed: r.completed.map(timestamp),
        superseded: r.superseded.map(timestamp),
        last_modified: Some(timestamp(r.last_modified)),
        details_json: serde_json::to_string(&v.details).unwrap_or_else(|_| "{}".to_owned()),
        job_types: v
            .job_types
            .iter()
            .map(|(key, service)| pb::JobTypeDetails {
                id: service.clone().unwrap_or_default(),
                name: key.name.clone(),
                version: key.version.clone(),
                revision_num: key.revision,
                description: String::new(),
            })
            .collect(),
        sub_recipe_types: v.sub_recipe_types.iter().map(summary).collect(),
        started: r.started.map(timestamp),
        ended: r.ended.map(timestamp),
    }
}
