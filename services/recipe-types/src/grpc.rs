//! The gRPC adapter: wire messages in, domain calls, wire messages out.

use std::sync::Arc;

use brigade_common::limits;
use brigade_proto::recipetypes::v1 as pb;
use brigade_proto::recipetypes::v1::recipe_types_server::RecipeTypes as RecipeTypesApi;
use prost_types::Timestamp;
use tonic::{Request, Response, Status};

use crate::definition::Message;
use crate::domain::{Description, Edit, NewRecipeType, RecipeType, Revision, Title, parse_order};
use crate::error::Error;
use crate::grpc_recipes::{forced_from_pb, list_filter, recipe_to_pb};
use crate::repository::ListFilter;
use crate::service::recipes::{Applied, JobNotice, NewRecipe, Recipes};
use crate::service::{Details, RecipeTypes, Report};

pub struct RecipeTypesGrpc {
    service: Arc<RecipeTypes>,
    recipes: Arc<Recipes>,
}

impl RecipeTypesGrpc {
    pub fn new(service: Arc<RecipeTypes>, recipes: Arc<Recipes>) -> Self {
        Self { service, recipes }
    }
}

/// How often a watch re-reads its recipe for changes made by another replica.
const WATCH_POLL: std::time::Duration = std::time::Duration::from_secs(1);
/// Notices one `NotifyJobStatuses` may carry (job-queue's relay sends at most 500).
const MAX_NOTICES: usize = 1000;

fn description(text: Option<String>) -> Result<Option<Description>, Error> {
    text.map(Description::parse).transpose().map_err(Error::InvalidArgument)
}

impl TryFrom<pb::CreateRecipeTypeRequest> for NewRecipeType {
    type Error = Error;

    fn try_from(r: pb::CreateRecipeTypeRequest) -> Result<Self, Error> {
        Ok(Self {
            title: Title::parse(r.title).map_err(Error::InvalidArgument)?,
            description: description(r.description)?,
            definition: r.definition_json,
        })
    }
}

impl TryFrom<pb::UpdateRecipeTypeRequest> for Edit {
    type Error = Error;

    fn try_from(r: pb::UpdateRecipeTypeRequest) -> Result<Self, Error> {
        Ok(Self {
            title: r.title.map(Title::parse).transpose().map_err(Error::InvalidArgument)?,
            description: description(r.description)?,
            definition: r.definition_json,
            auto_update: r.auto_update,
            is_active: r.is_active,
        })
    }
}

impl TryFrom<pb::ListRecipeTypesRequest> for ListFilter {
    type Error = Error;

    fn try_from(r: pb::ListRecipeTypesRequest) -> Result<Self, Error> {
        let capped = |field: &str, result: Result<(), String>| {
            result.map_err(|e| Error::InvalidArgument(format!("{field}: {e}")))
        };
        capped("keywords", limits::check_text_filter(&r.keywords))?;
        capped("order", limits::check_text_filter(&r.order))?;
        Ok(Self {
            order: parse_order(&r.order).map_err(Error::InvalidArgument)?,
            keywords: r.keywords.into_iter().filter(|k| !k.is_empty()).collect(),
            is_active: r.is_active,
            is_system: r.is_system,
        })
    }
}

pub(crate) fn timestamp(micros: i64) -> Timestamp {
    Timestamp {
        seconds: micros.div_euclid(1_000_000),
        nanos: (micros.rem_euclid(1_000_000) * 1000) as i32,
    }
}

pub(crate) fn summary(rt: &RecipeType) -> pb::RecipeTypeSummary {
    pb::RecipeTypeSummary {
        id: rt.id.0,
        name: rt.name.clone(),
        title: rt.title.clone(),
        description: rt.description.clone(),
        is_active: rt.is_active,
        is_system: rt.is_system,
        revision_num: rt.revision_num,
        created: Some(timestamp(rt.created)),
        deprecated: rt.deprecated.map(timestamp),
        last_modified: Some(timestamp(rt.last_modified)),
    }
}

fn details_to_pb(d: Details) -> pb::RecipeTypeDetails {
    pb::RecipeTypeDetails {
        summary: Some(summary(&d.recipe_type)),
        definition_json: d.definition.to_string(),
        job_types: d
            .job_types
            .into_iter()
            .map(|(key, info)| pb::JobTypeDetails {
                id: info.as_ref().map(|i| i.service_id.clone()).unwrap_or_default(),
                description: info.as_ref().map(|i| i.description.clone()).unwrap_or_default(),
                revision_num: key.revision,
                name: key.name,
                version: key.version,
            })
            .collect(),
        sub_recipe_types: d.sub_recipe_types.iter().map(summary).collect(),
        super_recipe_types: d.super_recipe_types.iter().map(summary).collect(),
    }
}

fn messages(list: Vec<Message>) -> Vec<pb::ValidationMessage> {
    list.into_iter()
        .map(|m| pb::ValidationMessage {
            name: m.name,
            description: m.description,
        })
        .collect()
}

fn report_to_pb(r: Report) -> pb::ValidationResult {
    pb::ValidationResult {
        is_valid: r.is_valid,
        errors: messages(r.errors),
        warnings: messages(r.warnings),
        diff_json: r.diff.to_string(),
    }
}

fn revision_to_pb(rt: &RecipeType, rev: &Revision) -> pb::RevisionSummary {
    pb::RevisionSummary {
        id: rev.id,
        recipe_type: Some(summary(rt)),
        revision_num: rev.revision_num,
        created: Some(timestamp(rev.created)),
    }
}

/// Offset and limit within sane bounds.
fn window(offset: i64, limit: i64) -> (i64, i64) {
    (offset.max(0), if limit <= 0 { 100 } else { limit.min(1000) })
}

#[tonic::async_trait]
impl RecipeTypesApi for RecipeTypesGrpc {
    async fn list_recipe_types(
        &self,
        request: Request<pb::ListRecipeTypesRequest>,
    ) -> Result<Response<pb::ListRecipeTypesResponse>, Status> {
        let r = request.into_inner();
        let (offset, limit) = window(r.offset, r.limit);
        let filter = ListFilter::try_from(r)?;
        let (count, items) = self.service.list(&filter, offset, limit).await?;
        Ok(Response::new(pb::ListRecipeTypesResponse {
            count,
            recipe_types: items
                .into_iter()
                .map(|l| pb::RecipeTypeListItem {
                    summary: Some(summary(&l.recipe_type)),
                    job_types: l
                        .job_types
                        .into_iter()
                        .map(|(name, version)| pb::JobTypeRef { name, version })
                        .collect(),
                    sub_recipe_types: l.sub_recipe_types,
                })
                .collect(),
        }))
    }

    async fn get_recipe_type(
        &self,
        request: Request<pb::GetRecipeTypeRequest>,
    ) -> Result<Response<pb::GetRecipeTypeResponse>, Status> {
        let details = self.service.details(&request.into_inner().name).await?;
        Ok(Response::new(pb::GetRecipeTypeResponse {
            recipe_type: Some(details_to_pb(details)),
        }))
    }

    async fn create_recipe_type(
        &self,
        request: Request<pb::CreateRecipeTypeRequest>,
    ) -> Result<Response<pb::CreateRecipeTypeResponse>, Status> {
        let new = NewRecipeType::try_from(request.into_inner())?;
        let details = self.service.create(new).await?;
        Ok(Response::new(pb::CreateRecipeTypeResponse {
            recipe_type: Some(details_to_pb(details)),
        }))
    }

    async fn update_recipe_type(
        &self,
        request: Request<pb::UpdateRecipeTypeRequest>,
    ) -> Result<Response<pb::UpdateRecipeTypeResponse>, Status> {
        let r = request.into_inner();
        let name = r.name.clone();
        let edit = match Edit::try_from(r) {
            Ok(edit) => edit,
            Err(invalid) => {
                // An unknown recipe type is Scale's 404 whatever the body says.
                self.service.get(&name).await?;
                return Err(invalid.into());
            }
        };
        let edited = self.service.edit(&name, edit).await?;
        Ok(Response::new(pb::UpdateRecipeTypeResponse {
            result: Some(report_to_pb(edited.report)),
            revision_num: edited.revision_num,
            new_revision: edited.new_revision,
        }))
    }

    async fn validate_recipe_type(
        &self,
        request: Request<pb::ValidateRecipeTypeRequest>,
    ) -> Result<Response<pb::ValidateRecipeTypeResponse>, Status> {
        let r = request.into_inner();
        let report = self
            .service
            .validate(r.name.as_deref().filter(|n| !n.is_empty()), &r.definition_json)
            .await?;
        Ok(Response::new(pb::ValidateRecipeTypeResponse {
            result: Some(report_to_pb(report)),
        }))
    }

    async fn list_revisions(
        &self,
        request: Request<pb::ListRevisionsRequest>,
    ) -> Result<Response<pb::ListRevisionsResponse>, Status> {
        let r = request.into_inner();
        let (offset, limit) = window(r.offset, r.limit);
        let (rt, count, revisions) = self.service.revisions(&r.name, offset, limit).await?;
        Ok(Response::new(pb::ListRevisionsResponse {
            count,
            revisions: revisions.iter().map(|rev| revision_to_pb(&rt, rev)).collect(),
        }))
    }

    async fn get_revision(
        &self,
        request: Request<pb::GetRevisionRequest>,
    ) -> Result<Response<pb::GetRevisionResponse>, Status> {
        let r = request.into_inner();
        let (rt, rev, definition) = self.service.revision(&r.name, r.revision_num).await?;
        Ok(Response::new(pb::GetRevisionResponse {
            revision: Some(revision_to_pb(&rt, &rev)),
            definition_json: definition.to_string(),
        }))
    }

    async fn notify_job_type_revision(
        &self,
        request: Request<pb::NotifyJobTypeRevisionRequest>,
    ) -> Result<Response<pb::NotifyJobTypeRevisionResponse>, Status> {
        let r = request.into_inner();
        let updated = self
            .service
            .job_type_revised(&r.notice_id, &r.name, &r.version, r.revision)
            .await?;
        Ok(Response::new(pb::NotifyJobTypeRevisionResponse {
            updated_recipe_types: updated,
        }))
    }

    type WatchRecipeStream =
        std::pin::Pin<Box<dyn tokio_stream::Stream<Item = Result<pb::WatchRecipeResponse, Status>> + Send>>;

    async fn create_recipe(
        &self,
        request: Request<pb::CreateRecipeRequest>,
    ) -> Result<Response<pb::CreateRecipeResponse>, Status> {
        let new = NewRecipe::try_from(request.into_inner())?;
        let view = self.recipes.create(new).await?;
        Ok(Response::new(pb::CreateRecipeResponse {
            recipe: Some(recipe_to_pb(view)),
        }))
    }

    async fn get_recipe(
        &self,
        request: Request<pb::GetRecipeRequest>,
    ) -> Result<Response<pb::GetRecipeResponse>, Status> {
        let view = self.recipes.view(request.into_inner().id).await?;
        Ok(Response::new(pb::GetRecipeResponse {
            recipe: Some(recipe_to_pb(view)),
        }))
    }

    async fn list_recipes(
        &self,
        request: Request<pb::ListRecipesRequest>,
    ) -> Result<Response<pb::ListRecipesResponse>, Status> {
        let r = request.into_inner();
        let (offset, limit) = window(r.offset, r.limit);
        let mut filter = list_filter(&r)?;
        if !r.recipe_type_names.is_empty() {
            let ids = self.recipes.type_ids(&r.recipe_type_names).await?;
            if ids.is_empty() {
                return Ok(Response::new(pb::ListRecipesResponse::default()));
            }
            filter.recipe_type_ids.extend(ids);
        }
        let (count, views) = self.recipes.list(&filter, offset, limit).await?;
        Ok(Response::new(pb::ListRecipesResponse {
            count,
            recipes: views.into_iter().map(recipe_to_pb).collect(),
        }))
    }

    async fn cancel_recipe(
        &self,
        request: Request<pb::CancelRecipeRequest>,
    ) -> Result<Response<pb::CancelRecipeResponse>, Status> {
        let view = self.recipes.cancel(request.into_inner().id).await?;
        Ok(Response::new(pb::CancelRecipeResponse {
            recipe: Some(recipe_to_pb(view)),
        }))
    }

    async fn reprocess_recipe(
        &self,
        request: Request<pb::ReprocessRecipeRequest>,
    ) -> Result<Response<pb::ReprocessRecipeResponse>, Status> {
        let r = request.into_inner();
        let forced = forced_from_pb(r.forced_nodes);
        let view = self.recipes.reprocess(r.id, &forced, r.revision_num).await?;
        Ok(Response::new(pb::ReprocessRecipeResponse {
            recipe: Some(recipe_to_pb(view)),
        }))
    }

    async fn watch_recipe(
        &self,
        request: Request<pb::WatchRecipeRequest>,
    ) -> Result<Response<Self::WatchRecipeStream>, Status> {
        let id = request.into_inner().id;
        let changes = self.recipes.subscribe();
        let first = self.recipes.view(id).await?;
        let stream = watch_stream(self.recipes.clone(), id, changes, first);
        Ok(Response::new(stream))
    }

    async fn notify_job_status(
        &self,
        request: Request<pb::NotifyJobStatusRequest>,
    ) -> Result<Response<pb::NotifyJobStatusResponse>, Status> {
        let notice = JobNotice::try_from(request.into_inner())?;
        self.after_notices(self.recipes.apply_job_notices(vec![notice]).await?);
        Ok(Response::new(pb::NotifyJobStatusResponse {}))
    }

    async fn notify_job_statuses(
        &self,
        request: Request<pb::NotifyJobStatusesRequest>,
    ) -> Result<Response<pb::NotifyJobStatusesResponse>, Status> {
        let notices = request.into_inner().notices;
        if notices.len() > MAX_NOTICES {
            return Err(Status::invalid_argument(format!(
                "at most {MAX_NOTICES} notices per call, not {}",
                notices.len()
            )));
        }
        let notices = notices
            .into_iter()
            .map(JobNotice::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        self.after_notices(self.recipes.apply_job_notices(notices).await?);
        Ok(Response::new(pb::NotifyJobStatusesResponse {}))
    }
}

impl RecipeTypesGrpc {
    /// Notices are applied (committed) before the answer; the job submits
    /// and steps they call for run after it, so the relay is not held up by
    /// them.
    fn after_notices(&self, applied: Applied) {
        self.recipes.submit_soon(applied.intents);
        for id in applied.step {
            self.recipes.step_soon(id);
        }
    }
}

struct Watch {
    recipes: Arc<Recipes>,
    id: i64,
    changes: tokio::sync::broadcast::Receiver<i64>,
    first: Option<crate::service::recipes::RecipeView>,
    /// What was sent last: a node can change (its job id arrives, a cancel
    /// lands) without the recipe row changing.
    last_sent: Option<pb::Recipe>,
    done: bool,
}

/// Waits for a change of `id` in this process, or [`WATCH_POLL`] for one
/// made elsewhere.
async fn next_change(changes: &mut tokio::sync::broadcast::Receiver<i64>, id: i64) {
    use tokio::sync::broadcast::error::RecvError;
    let wait = async {
        loop {
            match changes.recv().await {
                Ok(changed) if changed == id => return,
                Ok(_) => {}
                Err(RecvError::Lagged(_)) => return,
                Err(RecvError::Closed) => std::future::pending::<()>().await,
            }
        }
    };
    let _ = tokio::time::timeout(WATCH_POLL, wait).await;
}

/// The recipe now, then again whenever it changed, until it is COMPLETED or CANCELED.
fn watch_stream(
    recipes: Arc<Recipes>,
    id: i64,
    changes: tokio::sync::broadcast::Receiver<i64>,
    first: crate::service::recipes::RecipeView,
) -> <RecipeTypesGrpc as RecipeTypesApi>::WatchRecipeStream {
    let start = Watch {
        recipes,
        id,
        changes,
        first: Some(first),
        last_sent: None,
        done: false,
    };
    Box::pin(futures::stream::unfold(start, |mut w| async move {
        if w.done {
            return None;
        }
        let (recipe, is_final) = match w.first.take() {
            Some(view) => {
                let is_final = view.is_final();
                (recipe_to_pb(view), is_final)
            }
            None => loop {
                next_change(&mut w.changes, w.id).await;
                match w.recipes.view(w.id).await {
                    Ok(view) => {
                        let is_final = view.is_final();
                        let recipe = recipe_to_pb(view);
                        if w.last_sent.as_ref() != Some(&recipe) {
                            break (recipe, is_final);
                        }
                    }
                    Err(e) => {
                        w.done = true;
                        return Some((Err(Status::from(e)), w));
                    }
                }
            },
        };
        w.done = is_final;
        w.last_sent = Some(recipe.clone());
        Some((Ok(pb::WatchRecipeResponse { recipe: Some(recipe) }), w))
    }))
}
