//! The gateway's own HTTP client for blob GET/HEAD: Range, redirects under our control,
//! `Authorization` never sent to another host.
