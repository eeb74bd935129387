//! kustoplan library.

pub mod kusto;
