//! defender-ledger: Defender for Containers coverage, detection, remediation and showback,
//! computed monthly from Azure Resource Graph snapshots and Cost Management exports.
//!
//! Data moves left to right: `collect` → `history` → `kpi` → `render` → `store`.

pub mod assessment;
pub mod collect;
pub mod config;
pub mod error;
pub mod evidence;
pub mod format;
pub mod frame;
pub mod hashing;
pub mod history;
pub mod kpi;
pub mod logging;
pub mod model;
pub mod parquet;
pub mod period;
pub mod pipeline;
pub mod render;
pub mod store;
pub mod tags;
pub mod verify;

pub use error::{Error, Result};

/// The version recorded in every manifest.
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");
