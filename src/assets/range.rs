//! Pure `Range` / `If-None-Match` decisions (RFC 9110 §14, §13.1.2).
