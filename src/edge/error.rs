//! The edge's one error type and its one mapping to HTTP responses.

use serde_json::json;
use worker::Response;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    #[error("a valid admin token is required")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("method not allowed; use {0}")]
    MethodNotAllowed(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Unprocessable(String),
    #[error("request body too large")]
    TooLarge,
    #[error("too many requests from your address: {0}; try again in a minute")]
    TooManyRequests(String),
    /// A binding the request needs does not work (the rate limiter): refused, not served
    /// without it.
    #[error("{0}")]
    Unavailable(String),
    /// The detail is logged, never shown.
    #[error("internal error")]
    Internal(String),
}

pub type AppResult<T> = Result<T, AppError>;

impl From<worker::Error> for AppError {
    fn from(e: worker::Error) -> Self {
        AppError::Internal(e.to_string())
    }
}

impl From<serde_json::Error> for AppError {
    fn from(e: serde_json::Error) -> Self {
        AppError::Internal(format!("json: {e}"))
    }
}

impl AppError {
    pub fn status(&self) -> u16 {
        match self {
            AppError::BadRequest(_) => 400,
            AppError::Unauthorized => 401,
            AppError::Forbidden(_) => 403,
            AppError::NotFound(_) => 404,
            AppError::MethodNotAllowed(_) => 405,
            AppError::Conflict(_) => 409,
            AppError::TooLarge => 413,
            AppError::TooManyRequests(_) => 429,
            AppError::Unprocessable(_) => 422,
            AppError::Internal(_) => 500,
            AppError::Unavailable(_) => 503,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            AppError::BadRequest(_) => "bad_request",
            AppError::Unauthorized => "unauthorized",
            AppError::Forbidden(_) => "forbidden",
            AppError::NotFound(_) => "not_found",
            AppError::MethodNotAllowed(_) => "method_not_allowed",
            AppError::Conflict(_) => "conflict",
            AppError::TooLarge => "too_large",
            AppError::TooManyRequests(_) => "rate_limited",
            AppError::Unprocessable(_) => "unprocessable",
            AppError::Internal(_) => "internal",
            AppError::Unavailable(_) => "unavailable",
        }
    }

    /// `{"error":{"code","message"}}` with the fitting status.
    pub fn to_json_response(&self) -> Response {
        if let AppError::Internal(detail) = self {
            worker::console_error!("internal error: {detail}");
        }
        let body = json!({"error": {"code": self.code(), "message": self.to_string()}});
        let mut resp = Response::from_json(&body)
            .unwrap_or_else(|_| Response::error("internal error", 500).expect("static response"));
        resp = resp.with_status(self.status());
        let h = resp.headers_mut();
        let _ = h.set("Cache-Control", "no-store");
        let _ = h.set("X-Content-Type-Options", "nosniff");
        if let AppError::MethodNotAllowed(allow) = self {
            let _ = h.set("Allow", allow);
        }
        if let AppError::Unauthorized = self {
            let _ = h.set("WWW-Authenticate", "Bearer realm=\"orrery\"");
        }
        if let AppError::TooManyRequests(_) | AppError::Unavailable(_) = self {
            let _ = h.set("Retry-After", "60");
        }
        resp
    }
}
