//! Manifests: YAML files that declare a stack.
pub mod de;
pub mod located;
pub mod node;
pub mod schema;
pub mod spec;
