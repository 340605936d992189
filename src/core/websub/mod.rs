//! WebSub (W3C Recommendation, 2018) both ways: Orrery subscribing to its feeds' hubs, and Orrery as a hub for its own feeds.

pub mod hub;
pub mod subscriber;
