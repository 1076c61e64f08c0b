//! Integration tests: one binary, real registry processes, real clients.

mod access;
mod api;
mod cli;
mod crawl;
mod gateway;
mod members;
mod source;
mod support;
