//! What the API answers when a request cannot be served: a status and
//! `{"error": "..."}`, one line that says what was wrong.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::model::ErrorBody;

/// Why a request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// The request is wrong: a bad address, family, prefix or parameter (400).
    #[error("{0}")]
    BadRequest(String),
    /// No token, or the wrong one (401).
    #[error("{0}")]
    Unauthorized(String),
    /// The request names a host the API does not answer for (403): see
    /// `check_host` in the module.
    #[error("{0}")]
    Forbidden(String),
    /// No such neighbor or endpoint (404).
    #[error("{0}")]
    NotFound(String),
    /// The endpoint exists, not with this method (405).
    #[error("{0}")]
    MethodNotAllowed(String),
    /// The request conflicts with the speaker's state (409): a neighbor
    /// that exists already, a session that is not up, no file to reload.
    #[error("{0}")]
    Conflict(String),
    /// The body is neither JSON nor text where the endpoint takes them (415).
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The speaker could not do what was asked for a reason of its own (500).
    #[error("{0}")]
    Internal(String),
    /// The speaker did not answer (503): it is shutting down, or busy
    /// beyond the API's patience.
    #[error("{0}")]
    Unavailable(String),
}

impl ApiError {
    /// The HTTP status of the error.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let unauthorized = matches!(self, ApiError::Unauthorized(_));
        let mut response = (
            status,
            Json(ErrorBody {
                error: self.to_string(),
            }),
        )
            .into_response();
        if unauthorized {
            // RFC 6750 §3: tell the client which scheme is expected.
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer realm=\"ribbit\""),
            );
        }
        response
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> ApiError {
        // Every parameter is read as text and checked by the handler, so
        // what serde refuses is an unknown parameter; its message
        // ("Failed to deserialize query string: x: unknown field `x`,
        // expected one of `a`, `b`") is put in the API's words.
        let text = r.body_text();
        if let Some((_, rest)) = text.split_once("unknown field `") {
            let name = rest.split('`').next().unwrap_or_default();
            let known: Vec<&str> = rest
                .split_once("expected")
                .map(|(_, e)| e.split('`').skip(1).step_by(2).collect())
                .unwrap_or_default();
            return ApiError::BadRequest(if known.is_empty() {
                format!("unknown parameter {name} (this endpoint takes none)")
            } else {
                format!(
                    "unknown parameter {name} (expected one of: {})",
                    known.join(", ")
                )
            });
        }
        ApiError::BadRequest(text.replace('\n', "; "))
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> ApiError {
        ApiError::BadRequest(r.body_text().replace('\n', "; "))
    }
}
