//! Health and shutdown across both worlds:
//! - [`liveness`]: watched ROS nodes -> waiting / alive / lost.
//! - [`diagnostics`]: dora node failures and the bridge's own health as
//!   ROS `DiagnosticArray`s.
//! - [`shutdown`]: stopping the whole dataflow on a ROS-side shutdown, and
//!   not outliving the launcher.

pub mod diagnostics;
pub mod liveness;
pub mod shutdown;
