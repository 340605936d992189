//! The Durable Objects: each owns its storage keys and its alarm; they call each other only through `rpc`.

pub mod feed;
pub mod publisher;
pub mod room;
pub mod rpc;
pub mod sockets;
pub mod wire;
