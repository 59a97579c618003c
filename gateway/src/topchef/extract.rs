//! TopChef's extractors: UUID path ids and JSON bodies whose problems become
//! TopChef's field errors, all of them at once, in the order the body type
//! checks its fields.

use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::body::{BodyError, is_json_content_type, json_body, parse_json, read_bytes};
use crate::error::TopChefError;
use crate::fields::Field;
use crate::state::AppState;

/// A path id: a UUID in any form Python's `UUID()` accepts, normalised to
/// lowercase hyphenated text.
pub struct PathId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        uuid::Uuid::parse_str(raw.trim())
            .map(|u| Self(u.hyphenated().to_string()))
            .map_err(|_| TopChefError::not_uuid(&raw).into_response())
    }
}

/// A TopChef request body: which fields must be there, checked in order.
pub trait Body: DeserializeOwned {
    fn check(&self, problems: &mut Problems);
}

/// Field problems, collected so all of them are reported at once.
#[derive(Default)]
pub struct Problems(Vec<(String, String)>);

impl Problems {
    pub fn push(&mut self, field: &str, message: impl Into<String>) {
        self.0.push((field.to_owned(), message.into()));
    }

    pub fn optional<T>(&mut self, key: &str, field: &Field<T>) {
        if let Field::Invalid(problems) = field {
            for (suffix, message) in problems {
                self.push(&format!("{key}{suffix}"), message.clone());
            }
        }
    }

    pub fn required<T>(&mut self, key: &str, field: &Field<T>) {
        match field {
            Field::Absent => self.push(key, "Missing data for required field."),
            other => self.optional(key, other),
        }
    }
}

/// A JSON body read within the gateway's limits and checked field by field.
pub struct Json<T>(pub T);

impl<T: Body> Json<T> {
    /// The body as `T`, or TopChef's errors (`Invalid input type.` for a body that is not an object).
    pub fn from_value(value: Value) -> Result<Self, TopChefError> {
        let problem = |field: &str, message: String| TopChefError::deserialization(vec![(field.to_owned(), message)]);
        if !value.is_object() {
            return Err(problem("_schema", "Invalid input type.".to_owned()));
        }
        let body: T = serde_json::from_value(value).map_err(|e| problem("_schema", e.to_string()))?;
        let mut problems = Problems::default();
        body.check(&mut problems);
        if problems.0.is_empty() {
            Ok(Self(body))
        } else {
            Err(TopChefError::deserialization(problems.0))
        }
    }
}

impl<T: Body> FromRequest<AppState> for Json<T> {
    type Rejection = TopChefError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, TopChefError> {
        let (parts, body) = request.into_parts();
        Self::from_value(json_body(&parts.headers, body, state.limits).await?)
    }
}

/// A body that may be left out: empty is `{}`; one that is there must be JSON.
pub struct OptionalJson<T>(pub T);

impl<T: Body> FromRequest<AppState> for OptionalJson<T> {
    type Rejection = TopChefError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, TopChefError> {
        let (parts, body) = request.into_parts();
        let bytes = read_bytes(body, state.limits).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Json::from_value(Value::Object(serde_json::Map::new())).map(|Json(b)| Self(b));
        }
        if is_json_content_type(&parts.headers) != Some(true) {
            return Err(BodyError::NotJson.into());
        }
        Json::from_value(parse_json(&bytes, state.limits.max_depth)?).map(|Json(b)| Self(b))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::brigade::model::JobBatch;
    use crate::topchef::model::{JobPatch, NewService, ValidatorRequest};

    fn problems<T: Body>(body: Value) -> Vec<String> {
        let errors = Json::<T>::from_value(body).err().map(|e| e.errors).unwrap_or_default();
        let key = |d: String| d.replace("Validation of key '", "").replace("' threw error '", ": ");
        errors.into_iter().map(|e| key(e.detail)).collect()
    }

    #[test]
    fn every_field_problem_is_reported_in_the_old_parsers_words() {
        let body = json!({"name": 1, "job_result_schema": [], "timeout": 0, "version": null, "x": 1});
        let expected = [
            "name: Not a valid string.'.",
            "description: Missing data for required field.'.",
            "job_registration_schema: Missing data for required field.'.",
            "job_result_schema: Not a valid mapping type.'.",
            "timeout: Must be an integer of at least 1.'.",
        ];
        assert_eq!(problems::<NewService>(body), expected);
        let expected = [
            "schema: Not a valid mapping type.'.",
            "object: Missing data for required field.'.",
        ];
        assert_eq!(problems::<ValidatorRequest>(json!({"schema": null})), expected);
        let patch = json!({"status": "done", "results": null});
        assert_eq!(
            problems::<JobPatch>(patch),
            ["status: Unknown value for job status enum'."]
        );
        assert_eq!(problems::<JobPatch>(json!([])), ["_schema: Invalid input type.'."]);
        let batch = json!({"parameters": [1, {}, "x"]});
        let expected = [
            "parameters[0]: Not a valid mapping type.'.",
            "parameters[2]: Not a valid mapping type.'.",
        ];
        assert_eq!(problems::<JobBatch>(batch), expected);
        assert!(problems::<JobPatch>(json!({"status": " working ", "results": {}})).is_empty());
    }
}
