//! Scale's extractors: recipe-type names from the path and JSON bodies whose
//! first problem becomes Scale's `{"detail"}`, in Scale's words.

use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::body::json_body;
use crate::error::ScaleError;
use crate::fields::{Field, LenientBool, Object};
use crate::state::AppState;

/// A recipe-type name in the path: Scale's URL pattern `[\w.-]+`, else 404.
pub struct RecipeTypeName(pub String);

impl RecipeTypeName {
    pub fn checked(name: String) -> Result<Self, ScaleError> {
        let ok = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
        if ok {
            Ok(Self(name))
        } else {
            Err(ScaleError::not_found())
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RecipeTypeName {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        let Path(name) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Self::checked(name).map_err(IntoResponse::into_response)
    }
}

/// A Scale request body: its fields checked in the order Scale reads them.
pub trait Body: DeserializeOwned {
    fn check(&self) -> Result<(), ScaleError>;
}

fn fails<T>(field: &Field<T>, message: String) -> Result<(), ScaleError> {
    match field {
        Field::Invalid(_) => Err(ScaleError::bad_request(message)),
        _ => Ok(()),
    }
}

pub fn string(name: &str, field: &Field<String>) -> Result<(), ScaleError> {
    fails(field, format!("Parameter must be a string: \"{name}\""))
}

pub fn boolean(name: &str, field: &Field<LenientBool>) -> Result<(), ScaleError> {
    fails(field, format!("Parameter must be a valid boolean: \"{name}\""))
}

pub fn object(name: &str, field: &Field<Object>) -> Result<(), ScaleError> {
    fails(field, format!("Parameter must be a valid JSON object: \"{name}\""))
}

/// A field that must be given (after its type is checked by `kind`).
pub fn required<T>(
    name: &str,
    field: &Field<T>,
    kind: fn(&str, &Field<T>) -> Result<(), ScaleError>,
) -> Result<(), ScaleError> {
    kind(name, field)?;
    match field {
        Field::Absent => Err(ScaleError::bad_request(format!(
            "Missing required parameter: \"{name}\""
        ))),
        _ => Ok(()),
    }
}

/// A JSON object body read within the gateway's limits and checked.
pub struct Json<T>(pub T);

impl<T: Body> FromRequest<AppState> for Json<T> {
    type Rejection = ScaleError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ScaleError> {
        let (parts, body) = request.into_parts();
        let value = json_body(&parts.headers, body, state.limits).await?;
        let not_object = || ScaleError::bad_request("The request body must be a JSON object.");
        if !matches!(value, Value::Object(_)) {
            return Err(not_object());
        }
        let body: T = serde_json::from_value(value).map_err(|_| not_object())?;
        body.check()?;
        Ok(Self(body))
    }
}
