//! `protolab compare`: TCP and UDP carry the same bytes through the same
//! impairing bridge at several loss levels; the numbers and pictures show that
//! TCP delivers everything (and pays in time) while UDP loses what the link loses.
//!
//! - [`result`] the figures, as report.json holds them.

pub mod result;
