//! The only code that moves blob bytes to clients, and only for blobs the snapshot knows.

pub mod range;
