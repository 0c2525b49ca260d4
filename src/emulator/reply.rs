//! What a handler answers: a JSON body, an empty 200, or an API error shaped like 1cloud's
//! (`{"Message": "..."}` with 400/401/404/429/500). Depends on axum's status codes and serde.

use axum::http::StatusCode;
use serde::Serialize;

/// A successful answer, already serialized so the world lock can be released early.
#[derive(Debug)]
pub(crate) enum Reply {
    /// 200 with a JSON body.
    Json(Vec<u8>),
    /// 200 with an empty body (DELETE).
    Empty,
}

impl Reply {
    /// Serializes `value` as the answer's body.
    pub(crate) fn json<T: Serialize + ?Sized>(value: &T) -> Result<Reply, ApiError> {
        serde_json::to_vec(value)
            .map(Reply::Json)
            .map_err(|e| ApiError::internal(format!("could not serialize the answer: {e}")))
    }
}

/// An error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) message: String,
}

impl ApiError {
    pub(crate) fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    pub(crate) fn not_found(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::NOT_FOUND,
            message: message.into(),
        }
    }

    pub(crate) fn internal(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: message.into(),
        }
    }

    pub(crate) fn unauthorized() -> ApiError {
        ApiError {
            status: StatusCode::UNAUTHORIZED,
            message: "Authorization has been denied for this request.".to_owned(),
        }
    }

    pub(crate) fn no_route(path: &str) -> ApiError {
        ApiError::not_found(format!(
            "No HTTP resource was found that matches the request URI '{path}'."
        ))
    }

    /// The JSON body: `{"Message": "..."}`.
    pub(crate) fn body(&self) -> Vec<u8> {
        serde_json::json!({ "Message": self.message })
            .to_string()
            .into_bytes()
    }
}

/// The answer of a handler.
pub(crate) type ApiResult = Result<Reply, ApiError>;
