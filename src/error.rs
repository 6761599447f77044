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
    Input {
        context: String,
        message: String,
        #[source]
        cause: Option<Cause>,
    },

    #[error("{context}: {message}")]
    Source {
        context: String,
        message: String,
        #[source]
        cause: Option<Cause>,
    },

    #[error("publishing {context}: {message}")]
    Publish {
        context: String,
        message: String,
        #[source]
        cause: Option<Cause>,
    },

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

/// The underlying error an `Error` was made from, kept for logs (`Error::chain`).
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

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
            cause: None,
        }
    }

    pub fn source(context: impl fmt::Display, message: impl fmt::Display) -> Self {
        Error::Source {
            context: context.to_string(),
            message: message.to_string(),
            cause: None,
        }
    }

    pub fn publish(context: impl fmt::Display, message: impl fmt::Display) -> Self {
        Error::Publish {
            context: context.to_string(),
            message: message.to_string(),
            cause: None,
        }
    }

    /// An input error made from another error, which is kept as its cause.
    pub fn input_err(context: impl fmt::Display, cause: impl Into<Cause>) -> Self {
        let cause = cause.into();
        Error::Input {
            context: context.to_string(),
            message: cause.to_string(),
            cause: Some(cause),
        }
    }

    /// A source error made from another error, which is kept as its cause.
    pub fn source_err(context: impl fmt::Display, cause: impl Into<Cause>) -> Self {
        let cause = cause.into();
        Error::Source {
            context: context.to_string(),
            message: cause.to_string(),
            cause: Some(cause),
        }
    }

    /// A publish error made from another error, which is kept as its cause.
    pub fn publish_err(context: impl fmt::Display, cause: impl Into<Cause>) -> Self {
        let cause = cause.into();
        Error::Publish {
            context: context.to_string(),
            message: cause.to_string(),
            cause: Some(cause),
        }
    }

    /// This error with `cause` kept under it (for the variants that keep one).
    pub fn with_cause(mut self, new: impl Into<Cause>) -> Self {
        if let Error::Input { cause, .. }
        | Error::Source { cause, .. }
        | Error::Publish { cause, .. } = &mut self
        {
            *cause = Some(new.into());
        }
        self
    }

    /// The causes under this error, outermost first, query strings of URLs removed (a SAS
    /// token is a secret): for logs; the message already states the first.
    pub fn chain(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut next = std::error::Error::source(self);
        while let Some(e) = next {
            out.push(without_url_queries(&e.to_string()));
            next = e.source();
        }
        out
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

/// `text` with the query string of every URL in it removed: HTTP client errors quote the URL
/// they failed on, and a shared access signature travels in the query string.
pub fn without_url_queries(text: &str) -> String {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re =
        RE.get_or_init(|| regex::Regex::new(r#"(https?://[^\s?#"'<>]+)\?[^\s"'<>)]*"#).unwrap());
    re.replace_all(text, "$1").into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_are_kept_and_url_queries_never_shown() {
        let io =
            std::io::Error::other("GET https://a.blob.core.windows.net/c/x?sv=1&sig=SECRET failed");
        let e = Error::source_err("reading x", io);
        assert_eq!(e.class(), ErrorClass::Source);
        let chain = e.chain();
        assert_eq!(chain.len(), 1);
        assert!(
            !chain[0].contains("SECRET")
                && chain[0].contains("https://a.blob.core.windows.net/c/x")
        );
        assert!(Error::input("a", "b").chain().is_empty());
    }
}
