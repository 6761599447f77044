//! One error type for the whole job. Every variant belongs to a failure class, and the class
//! decides the process exit code, so a scheduler can tell "fix the config" from "Azure was down".

use std::fmt;

/// Failure classes and their documented exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// 2: bad arguments or configuration; re-running will not help until it is fixed.
    Usage,
    /// 3: the input data is wrong (malformed row, unknown schema, failed reconciliation).
    Input,
    /// 4: a source could not be reached or answered with an error (Resource Graph, identity).
    Source,
    /// 5: publishing to the output store failed; nothing was committed.
    Publish,
    /// 1: `verify` found a published run that differs from its manifest or signature.
    Verification,
}

impl ErrorClass {
    pub fn exit_code(self) -> i32 {
        match self {
            ErrorClass::Usage => 2,
            ErrorClass::Input => 3,
            ErrorClass::Source => 4,
            ErrorClass::Publish => 5,
            ErrorClass::Verification => 1,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("configuration: {0}")]
    Config(String),

    #[error("{context}: {message}")]
    Input { context: String, message: String },

    #[error("{context}: {message}")]
    Source { context: String, message: String },

    #[error("publishing {context}: {message}")]
    Publish { context: String, message: String },

    #[error("verification failed: {0}")]
    Verification(String),

    #[error("reconciliation failed: {0}")]
    Reconciliation(String),

    #[error("{context}: {source}")]
    Polars {
        context: String,
        #[source]
        source: polars::error::PolarsError,
    },
}

impl Error {
    pub fn class(&self) -> ErrorClass {
        match self {
            Error::Config(_) => ErrorClass::Usage,
            Error::Input { .. } | Error::Reconciliation(_) | Error::Polars { .. } => {
                ErrorClass::Input
            }
            Error::Source { .. } => ErrorClass::Source,
            Error::Publish { .. } => ErrorClass::Publish,
            Error::Verification(_) => ErrorClass::Verification,
        }
    }

    pub fn config(message: impl fmt::Display) -> Self {
        Error::Config(message.to_string())
    }

    pub fn input(context: impl fmt::Display, message: impl fmt::Display) -> Self {
        Error::Input {
            context: context.to_string(),
            message: message.to_string(),
        }
    }

    pub fn source(context: impl fmt::Display, message: impl fmt::Display) -> Self {
        Error::Source {
            context: context.to_string(),
            message: message.to_string(),
        }
    }

    pub fn publish(context: impl fmt::Display, message: impl fmt::Display) -> Self {
        Error::Publish {
            context: context.to_string(),
            message: message.to_string(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Attach a human context to polars errors, which on their own rarely say which table failed.
pub trait PolarsContext<T> {
    fn ctx(self, context: impl fmt::Display) -> Result<T>;
}

impl<T> PolarsContext<T> for polars::error::PolarsResult<T> {
    fn ctx(self, context: impl fmt::Display) -> Result<T> {
        self.map_err(|source| Error::Polars {
            context: context.to_string(),
            source,
        })
    }
}
