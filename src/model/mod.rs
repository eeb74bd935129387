//! The canonical, normalised vocabulary shared by desired state (manifests) and observed state
//! (live systems). Every spelling that means the same thing is folded here, so the diff never
//! reports drift that is only a difference of notation.

pub mod auth;
mod column_type;
pub mod connect;
mod connect_manager;
pub mod endpoint;
mod format;
pub mod function;
mod impact;
pub mod kafka_target;
pub mod kusto;
mod mapping_properties;
pub mod materialized_view;
mod names;
mod policy;
mod principal;
mod retention;
pub mod sink;
mod small_map;
pub mod stack;
pub(crate) mod timespan;
mod update_policy;

pub use column_type::ColumnType;
pub use connect_manager::ConnectManager;
pub use format::{DataFormat, MappingKind};
pub use function::{Function, Parameter, ParameterType};
pub use impact::ImpactClass;
pub use mapping_properties::MappingProperties;
pub use materialized_view::{MaterializedView, QueryChange};
pub use names::{
    KAFKA_TOPIC_MAX, KAFKA_TOPIC_PATTERN, KUSTO_NAME_MAX, KUSTO_NAME_PATTERN,
    SINK_SAFE_NAME_PATTERN, check_kafka_topic_name, check_kusto_name, is_sink_safe_name,
};
pub use policy::BatchingPolicy;
pub use principal::{PrincipalKind, PrincipalRef, is_guid};
pub use retention::{CachingPolicy, HotWindow, RetentionPolicy, normalize_instant};
pub use small_map::SmallMap;
pub use timespan::Timespan;
pub use update_policy::{
    QuerySchema, UpdatePolicy, query_calls, update_policies_from_json, update_policies_json,
};
