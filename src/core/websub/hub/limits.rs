//! What the hub takes on and spends: per-domain and total caps, rounds within a budget.
//!
//! A "host" here is a [`host_bucket`]: a registrable domain, an IPv4 /24 or an IPv6 /48,
//! since wildcard DNS or an address block gives one party as many host names as it likes.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::{HubError, Mode, SubscriberIntent};
use crate::core::fetch::registrable_domain;

/// Requests to one callback host in flight at once, so the hub cannot be aimed at a server.
pub const IN_FLIGHT_PER_HOST: usize = 2;
/// Rounds of requests one invocation makes at most (so one host gets at most
/// `IN_FLIGHT_PER_HOST * ROUNDS` requests per invocation).
pub const ROUNDS: usize = 4;
/// Subrequests (fetches and D1 queries) one invocation spends at most (Free plan: 50).
pub const SUBREQUESTS: usize = 40;
/// Subscriptions one callback domain ([`host_bucket`]) may hold, across topics and callbacks.
pub const SUBSCRIPTIONS_PER_HOST: usize = 20;
/// Verifications waiting for one callback domain at once.
pub const INTENTS_PER_HOST: usize = 5;
/// Subscriptions the hub holds in all.
pub const MAX_SUBSCRIPTIONS: usize = 1000;
/// Verifications waiting in all (each costs a request of the next alarm).
pub const MAX_INTENTS: usize = 100;

/// What the per-host limits count a callback host as: its registrable domain
/// (`a1.example.test` and `a2.example.test` are `example.test`), its IPv4 /24 or its
/// IPv6 /48 (`[` `]` as `Url::host_str` gives them, or bare).
pub fn host_bucket(host: &str) -> String {
    let h = host.trim_end_matches('.').to_ascii_lowercase();
    let bare = h.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<Ipv4Addr>() {
        let [a, b, c, _] = ip.octets();
        return format!("{a}.{b}.{c}.0/24");
    }
    if let Ok(ip) = bare.parse::<Ipv6Addr>() {
        if let Some(v4) = ip.to_ipv4_mapped() {
            return host_bucket(&v4.to_string());
        }
        let s = ip.segments();
        return format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2]);
    }
    registrable_domain(&h).unwrap_or(h)
}
/// How long one outbound request may take.
pub const REQUEST_TIMEOUT_MS: u64 = 10_000;

/// Whether the hub takes one more intent for `intent.host`, given what it holds.
/// Unsubscribing is always taken (it can only lower the load).
pub fn admit(intent: &SubscriberIntent, held: &Held) -> Result<(), HubError> {
    if intent.mode == Mode::Unsubscribe {
        return Ok(());
    }
    if held.intents_total >= MAX_INTENTS {
        return Err(HubError::Limit(format!(
            "this hub has {MAX_INTENTS} subscriptions waiting for verification; try again \
             in a minute"
        )));
    }
    if held.intents_for_host >= INTENTS_PER_HOST {
        return Err(HubError::Limit(format!(
            "{} already has {INTENTS_PER_HOST} subscriptions waiting for verification; \
             answer those first",
            host_bucket(&intent.host)
        )));
    }
    if !held.renewal && held.subs_for_host >= SUBSCRIPTIONS_PER_HOST {
        return Err(HubError::Limit(format!(
            "{} holds {SUBSCRIPTIONS_PER_HOST} subscriptions, the most one domain may",
            host_bucket(&intent.host)
        )));
    }
    if !held.renewal && held.subs_total >= MAX_SUBSCRIPTIONS {
        return Err(HubError::Limit(format!(
            "this hub holds {MAX_SUBSCRIPTIONS} subscriptions, the most it takes"
        )));
    }
    Ok(())
}

/// What the hub holds that [`admit`] weighs.
#[derive(Debug, Clone, Copy, Default)]
pub struct Held {
    pub subs_total: usize,
    /// Subscriptions of the intent's [`host_bucket`].
    pub subs_for_host: usize,
    /// Intents waiting for the intent's [`host_bucket`] (itself not counted).
    pub intents_for_host: usize,
    /// Intents waiting in all (itself not counted).
    pub intents_total: usize,
    /// The same topic and callback is subscribed already (a renewal adds nothing).
    pub renewal: bool,
}

/// One job of a round, as [`pick`] weighs it: its host and the subrequests it costs.
pub struct Job<'a> {
    pub host: &'a str,
    pub cost: usize,
}

/// Which jobs go in one round: in order, at most `per_host` per host and at most
/// `budget` subrequests in all. The rest wait for the next round or invocation.
pub fn pick(jobs: &[Job<'_>], per_host: usize, budget: usize) -> Vec<usize> {
    let mut taken = Vec::new();
    let mut hosts: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    let mut spent = 0;
    for (i, job) in jobs.iter().enumerate() {
        let n = hosts.entry(job.host).or_default();
        if *n >= per_host || spent + job.cost > budget {
            continue;
        }
        *n += 1;
        spent += job.cost;
        taken.push(i);
    }
    taken
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::websub::hub::tests::ask;

    #[test]
    fn per_host_and_total_limits() {
        let i = ask(&[]).unwrap();
        assert!(admit(&i, &Held::default()).is_ok());
        let full_host = Held {
            subs_for_host: SUBSCRIPTIONS_PER_HOST,
            subs_total: SUBSCRIPTIONS_PER_HOST,
            ..Held::default()
        };
        assert!(matches!(admit(&i, &full_host), Err(HubError::Limit(_))));
        // A renewal of a subscription it holds is fine; unsubscribing always is.
        assert!(admit(
            &i,
            &Held {
                renewal: true,
                ..full_host
            }
        )
        .is_ok());
        let unsub = ask(&[("hub.mode", "unsubscribe")]).unwrap();
        assert!(admit(&unsub, &full_host).is_ok());
        let waiting = Held {
            intents_for_host: INTENTS_PER_HOST,
            ..Held::default()
        };
        assert!(matches!(admit(&i, &waiting), Err(HubError::Limit(_))));
        let full = Held {
            subs_total: MAX_SUBSCRIPTIONS,
            ..Held::default()
        };
        assert!(matches!(admit(&i, &full), Err(HubError::Limit(_))));
    }

    #[test]
    fn hosts_count_per_domain_slash_24_and_slash_48() {
        for (a, b) in [
            ("a1.example.test", "a999.example.test"),
            ("x.y.example.co.uk", "example.co.uk"),
            ("Example.test.", "example.test"),
            ("203.0.114.1", "203.0.114.254"),
            ("[2606:4700:10::1]", "[2606:4700:10:ffff::2]"),
            ("2606:4700:10::1", "[2606:4700:10:1::]"),
            ("[::ffff:8.8.8.8]", "8.8.8.1"),
        ] {
            assert_eq!(host_bucket(a), host_bucket(b), "{a} ~ {b}");
        }
        for (a, b) in [
            ("a.example.test", "a.example2.test"),
            ("alice.github.io", "bob.github.io"),
            ("203.0.114.1", "203.0.115.1"),
            ("[2606:4700:10::1]", "[2606:4700:11::1]"),
        ] {
            assert_ne!(host_bucket(a), host_bucket(b), "{a} / {b}");
        }
        assert_eq!(host_bucket("203.0.114.9"), "203.0.114.0/24");
        assert_eq!(host_bucket("[2606:4700:10::1]"), "2606:4700:10::/48");
    }

    #[test]
    fn pending_intents_are_capped_in_all() {
        let i = ask(&[]).unwrap();
        let crowded = Held {
            intents_total: MAX_INTENTS,
            ..Held::default()
        };
        assert!(matches!(admit(&i, &crowded), Err(HubError::Limit(_))));
        let unsub = ask(&[("hub.mode", "unsubscribe")]).unwrap();
        assert!(admit(&unsub, &crowded).is_ok());
    }

    #[test]
    fn rounds_respect_hosts_and_the_subrequest_budget() {
        let jobs: Vec<Job> = ["a", "a", "a", "b", "a", "c"]
            .iter()
            .map(|h| Job { host: h, cost: 2 })
            .collect();
        assert_eq!(pick(&jobs, 2, 40), vec![0, 1, 3, 5]);
        assert_eq!(pick(&jobs, 2, 5), vec![0, 1]);
        assert_eq!(pick(&jobs, 1, 40), vec![0, 3, 5]);
        assert!(pick(&jobs, 2, 1).is_empty());
    }
}
