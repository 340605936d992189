//! The Durable Objects, one folder each, and the messages and calls between them.
//!
//! Each owns its storage keys and its alarm (`<object>/storage.rs`); they call each other
//! only through `rpc`, with the messages of `wire`.

pub mod feed;
pub mod publisher;
pub mod room;
pub mod rpc;
pub mod sockets;
pub mod wire;
