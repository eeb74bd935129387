//! kustoplan library.

pub mod kusto;
pub mod sandbox;
