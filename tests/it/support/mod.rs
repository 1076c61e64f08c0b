//! Test harness: a real registry, fixtures pushed to it, the gateway binary.

pub mod client;
pub mod fixtures;
pub mod flaky;
pub mod gateway;
pub mod registry;
pub mod token_auth;
