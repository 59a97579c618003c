//! `GET /v6/recipes/{id}/events/`: recipe-types' `WatchRecipe` stream relayed
//! as server-sent events, for the console's live recipe page. Each `recipe`
//! event carries the JSON `GET /v6/recipes/{id}/` answers, converted the same
//! way; the stream ends after the recipe's final state, when the client goes
//! away (the gRPC stream is dropped with the response), or when the gateway
//! starts to stop.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use brigade_proto::recipetypes::v1 as pb;
use futures::{Stream, StreamExt};

use super::model::{self, RecipeDetails};
use super::recipes::recipe_id;
use crate::error::ScaleError;
use crate::state::AppState;

/// A comment line this often keeps proxies from closing an idle stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The recipe now, then after each change, until it is finished.
#[utoipa::path(
    get, path = "/v6/recipes/{id}/events/", operation_id = "recipe_events", tag = "Scale v6",
    description = "Brigade extension: server-sent events (`text/event-stream`). Each `recipe` event's data is the \
JSON `GET /v6/recipes/{id}/` answers: first the recipe as it is, then again after every change of it or its nodes. \
The stream ends after the event that shows the recipe finished (COMPLETED, FAILED with nothing left to run, or \
CANCELED), and a comment line every 15 s keeps it open meanwhile. An `error` event (data `{\"detail\": …}`) ends it \
early when recipe-types cannot go on. Browsers' `EventSource` cannot send a bearer token: with authentication on, \
read it with `fetch()` and the `Authorization` header, as the console does.",
    params(("id" = i64, Path, minimum = 1, description = "Recipe id (anything but a positive integer is 404).")),
    responses(
        (status = 200, description = "The event stream; each event's data is a recipe's details.", body = model::RecipeStreamEvent, content_type = "text/event-stream"),
        (status = 404, description = "`Not found.`, before the stream starts.", body = model::ScaleErrorBody),
    )
)]
pub async fn recipe(State(state): State<AppState>, Path(raw): Path<String>) -> Result<Response, ScaleError> {
    let id = recipe_id(&raw)?;
    // An unknown id fails this call, so the client gets Scale's 404 and no stream.
    let watch = state
        .rt()
        .watch_recipe(pb::WatchRecipeRequest { id })
        .await?
        .into_inner();
    let draining = state.draining.clone();
    let events = relay(watch).take_until(async move { draining.started().await });
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response())
}

/// Each recipe as a `recipe` event; a failure as one `error` event, which ends the stream.
fn relay(
    watch: impl Stream<Item = Result<pb::WatchRecipeResponse, tonic::Status>> + Send + Unpin,
) -> impl Stream<Item = Result<Event, Infallible>> + Send {
    futures::stream::unfold(Some(watch), |watch| async move {
        let mut watch = watch?;
        match watch.next().await? {
            Ok(message) => {
                let details = RecipeDetails::from(message.recipe.unwrap_or_default());
                let event = Event::default().event("recipe").json_data(details);
                Some((Ok(event.unwrap_or_else(|_| failure())), Some(watch)))
            }
            Err(status) => {
                tracing::warn!(code = ?status.code(), "recipe watch ended with an error");
                Some((Ok(failure()), None))
            }
        }
    })
}

/// The last event of a stream that could not go on; no internals in it.
fn failure() -> Event {
    Event::default()
        .event("error")
        .data(r#"{"detail":"The recipe's updates stopped; reload to continue."}"#)
}
