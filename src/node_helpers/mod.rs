//! For Rust dora nodes that take the bridge's messages (the Rust side of
//! the Python package in python/): typed views of what robots send most.
//! Nothing here is used by the bridge itself; it only reads the Arrow
//! layout of docs/arrow-mapping.md.

pub mod image;
