//! The only code that moves blob bytes to clients, and only for blobs the snapshot knows.
//!
//! [`serve`] answers an asset request in proxy mode; [`range`] decides what to send and
//! [`verify`] checks whole bodies against their digest on the way through.

pub mod proxy;
pub mod range;
pub mod verify;

pub use proxy::serve;
