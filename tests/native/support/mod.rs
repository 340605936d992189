//! Helpers shared by the native tests: a seeded generator, the sanitizer's inputs, a reference DOM and the reference sanitizer.

pub mod rcdom;
pub mod rng;
pub mod sanitize_inputs;
pub mod sanitize_reference;
