//! Recipes (Scale's `/v6/recipes/`) over recipe-types' gRPC API: queue a
//! recipe of a recipe type, read it, watch it move, wait for it to end.

use std::time::Duration;

use brigade_proto::recipetypes::v1 as pb;
use brigade_proto::recipetypes::v1::recipe_types_client::RecipeTypesClient;
use futures::{Stream, StreamExt};
use serde_json::Value;
use tonic::transport::Channel;

use crate::client::{AuthorizedChannel, ConnectOptions, Credentials};

use crate::error::{Error, Result};

/// A recipe as recipe-types shows it; `details_json` holds Scale's recipe instance JSON.
pub type Recipe = pb::Recipe;
/// A recipe's status.
pub type RecipeStatus = pb::RecipeStatus;

/// A connection to Brigade's recipe-types service. Cheap to clone.
#[derive(Clone, Debug)]
pub struct RecipeClient {
    inner: RecipeTypesClient<AuthorizedChannel>,
}

impl RecipeClient {
    /// Connects to recipe-types' gRPC endpoint (e.g. `http://127.0.0.1:50052`).
    pub async fn connect(url: impl Into<String>) -> Result<Self> {
        Self::connect_with(url, ConnectOptions::default()).await
    }

    /// Connects once with `options`' token, TLS and timeouts (no retries).
    pub async fn connect_with(url: impl Into<String>, options: ConnectOptions) -> Result<Self> {
        let url = url.into();
        let endpoint = crate::client::endpoint(&url, &options)?;
        let credentials = options.credentials()?;
        let channel = endpoint.connect().await.map_err(|source| Error::Connect {
            url,
            attempts: 1,
            source,
        })?;
        Ok(Self::with_credentials(channel, credentials))
    }

    /// Wraps a channel you built yourself.
    pub fn from_channel(channel: Channel) -> Self {
        Self::with_credentials(channel, Credentials::default())
    }

    /// Wraps a channel you built yourself, sending `credentials` on every call.
    pub fn with_credentials(channel: Channel, credentials: Credentials) -> Self {
        Self {
            inner: RecipeTypesClient::with_interceptor(channel, credentials),
        }
    }

    /// Queues a recipe of the named recipe type (its latest revision) with
    /// input in Scale's data shape, `{"files": {name: [uri]}, "json": {name: value}}`.
    /// Bad input is [`Error::InvalidArgument`], each problem a violation.
    pub async fn create_recipe(&self, recipe_type: &str, input: &Value) -> Result<Recipe> {
        let response = self
            .inner
            .clone()
            .create_recipe(pb::CreateRecipeRequest {
                recipe_type_name: recipe_type.to_owned(),
                input_json: input.to_string(),
                ..Default::default()
            })
            .await
            .map_err(Error::from_status)?;
        response
            .into_inner()
            .recipe
            .ok_or_else(|| Error::Malformed("CreateRecipe answered without the recipe".to_owned()))
    }

    /// The recipe now.
    pub async fn get_recipe(&self, id: i64) -> Result<Recipe> {
        let response = self
            .inner
            .clone()
            .get_recipe(pb::GetRecipeRequest { id })
            .await
            .map_err(Error::from_status)?;
        response
            .into_inner()
            .recipe
            .ok_or_else(|| Error::Malformed("GetRecipe answered without the recipe".to_owned()))
    }

    /// Cancels the recipe, its sub-recipes and their queued and working jobs.
    pub async fn cancel_recipe(&self, id: i64) -> Result<Recipe> {
        let response = self
            .inner
            .clone()
            .cancel_recipe(pb::CancelRecipeRequest { id })
            .await
            .map_err(Error::from_status)?;
        response
            .into_inner()
            .recipe
            .ok_or_else(|| Error::Malformed("CancelRecipe answered without the recipe".to_owned()))
    }

    /// The recipe now, then again after each change, until it is COMPLETED or CANCELED.
    pub async fn watch_recipe(&self, id: i64) -> Result<impl Stream<Item = Result<Recipe>> + use<>> {
        let stream = self
            .inner
            .clone()
            .watch_recipe(pb::WatchRecipeRequest { id })
            .await
            .map_err(Error::from_status)?
            .into_inner();
        Ok(stream.map(|item| match item {
            Ok(message) => message
                .recipe
                .ok_or_else(|| Error::Malformed("WatchRecipe sent a message without the recipe".to_owned())),
            Err(status) => Err(Error::from_status(status)),
        }))
    }

    /// Watches the recipe until it is COMPLETED or CANCELED and returns it
    /// then; [`Error::Timeout`] after `timeout`.
    pub async fn wait_for_recipe(&self, id: i64, timeout: Duration) -> Result<Recipe> {
        let wait = async {
            let mut last = None;
            let stream = self.watch_recipe(id).await?;
            futures::pin_mut!(stream);
            while let Some(recipe) = stream.next().await {
                let recipe = recipe?;
                if matches!(recipe.status(), RecipeStatus::Completed | RecipeStatus::Canceled) {
                    return Ok(recipe);
                }
                last = Some(recipe);
            }
            last.ok_or_else(|| Error::Malformed("WatchRecipe ended without a recipe".to_owned()))
        };
        tokio::time::timeout(timeout, wait).await.map_err(|_| Error::Timeout {
            what: format!("recipe {id} to finish"),
            after: timeout,
        })?
    }
}
