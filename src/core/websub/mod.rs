//! WebSub both ways: Orrery subscribing to hubs, and Orrery as one.
//!
//! The protocol is the W3C Recommendation of 2018. `signature` is shared by both sides; `subscriber` is a feed's subscription to its
//! hub; `hub` is Orrery as the hub for its own feeds (its topics are
//! `syndication::topics`).

pub mod hub;
pub mod signature;
pub mod subscriber;
