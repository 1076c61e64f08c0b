//! Integration tests: one binary, real registry processes, real clients.

mod cli;
mod crawl;
mod gateway;
mod source;
mod support;
