//! kustoplan library.
