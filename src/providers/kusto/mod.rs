//! The Kusto provider: a transport (the built-in sandbox in-process, or a cluster over HTTP), bulk
//! observe, and apply in `.execute database script` batches.

pub mod apply;
pub mod observe;
pub mod transport;
