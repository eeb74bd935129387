//! Kusto protocol pieces shared by the Kusto provider and the sandbox: the v1 REST response
//! format, scalar types and the control-command language.

#![warn(missing_docs)]

pub mod calendar;
pub mod command;
pub mod datetime;
pub mod lease;
pub mod observe;
pub mod render;
pub mod rows;
pub mod v1;
