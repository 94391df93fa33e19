//! Black-box tests of the HTTP API through a spawned server (one binary, many modules, so it
//! compiles once).

mod helpers;
mod smoke;
