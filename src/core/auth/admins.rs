//! Named admins: who may sign in with GitHub or an OpenID Connect provider.
//!
//! A rule names a GitHub user (by numeric id; a login given in `ADMINS` is bound to the id
//! of the first account that signs in with it, since logins can be renamed), a verified
//! email, every verified email of a domain (`*@example.org`, OpenID Connect only) or a
//! GitHub organization's members. `ADMINS` seeds the list; admins add and remove the rest on
//! `/admin`. Pure: the rows, the identity and the clock are passed in.

/// Most rules a planet keeps (the whole list is read at each sign-in).
pub const MAX_ADMINS: usize = 200;
/// A refused sign-in is audited at most once an hour per identity (and per client address
/// for input that names no one), so refusals cannot write a row each.
pub const REFUSAL_AUDIT_WINDOW_MS: i64 = 60 * 60 * 1000;
/// The longest rule, email or login kept.
const MAX_RULE_CHARS: usize = 254;

/// One rule of the list, as written in `ADMINS` and on `/admin` (its canonical text is
/// [`AdminRule::text`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminRule {
    /// `github:12345`: a GitHub account by its numeric id.
    GitHubId(i64),
    /// `github:octocat`: a GitHub login, bound to an account's id at its first sign-in.
    GitHubLogin(String),
    /// `ada@example.org`: a verified email (either provider).
    Email(String),
    /// `*@example.org`: every verified email of the domain (OpenID Connect only).
    Domain(String),
    /// `github-org:rust-lang`: the members of a GitHub organization.
    GitHubOrg(String),
}

fn login_ok(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 39
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !s.starts_with('-')
}

fn domain_ok(d: &str) -> bool {
    d.contains('.')
        && !d.starts_with('.')
        && !d.ends_with('.')
        && d.len() <= 253
        && d.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

fn email_ok(e: &str) -> bool {
    match e.rsplit_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && e.chars().count() <= MAX_RULE_CHARS
                && !e
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control() || c == ',')
                && domain_ok(domain)
        }
        None => false,
    }
}

impl AdminRule {
    /// Reads one rule (case folded: logins, emails and domains compare without case).
    pub fn parse(raw: &str) -> Result<AdminRule, String> {
        let s = raw.trim().to_ascii_lowercase();
        let said = || format!("{:?}", raw.trim().chars().take(60).collect::<String>());
        if let Some(rest) = s.strip_prefix("github-org:") {
            return login_ok(rest)
                .then(|| AdminRule::GitHubOrg(rest.into()))
                .ok_or_else(|| format!("{} is not a GitHub organization", said()));
        }
        if let Some(rest) = s.strip_prefix("github:") {
            let rest = rest.trim_start_matches('@');
            if !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()) {
                return rest
                    .parse::<i64>()
                    .ok()
                    .filter(|n| *n > 0)
                    .map(AdminRule::GitHubId)
                    .ok_or_else(|| format!("{} is not a GitHub user id", said()));
            }
            return login_ok(rest)
                .then(|| AdminRule::GitHubLogin(rest.into()))
                .ok_or_else(|| format!("{} is not a GitHub login", said()));
        }
        if let Some(domain) = s.strip_prefix("*@") {
            return domain_ok(domain)
                .then(|| AdminRule::Domain(domain.into()))
                .ok_or_else(|| format!("{} is not a domain rule (*@example.org)", said()));
        }
        if email_ok(&s) {
            return Ok(AdminRule::Email(s));
        }
        Err(format!(
            "{} is not an admin: write github:<id or login>, an email, *@domain or github-org:<name>",
            said()
        ))
    }

    /// The rule's canonical text (what D1 keeps, unique).
    pub fn text(&self) -> String {
        match self {
            AdminRule::GitHubId(id) => format!("github:{id}"),
            AdminRule::GitHubLogin(l) => format!("github:{l}"),
            AdminRule::Email(e) => e.clone(),
            AdminRule::Domain(d) => format!("*@{d}"),
            AdminRule::GitHubOrg(o) => format!("github-org:{o}"),
        }
    }

    /// How well a rule names a person: exact rules are preferred to wide ones, so the
    /// audit and the session name the narrowest rule that let someone in.
    fn rank(&self) -> u8 {
        match self {
            AdminRule::GitHubId(_) => 0,
            AdminRule::GitHubLogin(_) | AdminRule::Email(_) => 1,
            AdminRule::Domain(_) | AdminRule::GitHubOrg(_) => 2,
        }
    }
}

/// The rules of `ADMINS` (comma- or whitespace-separated), and the entries it cannot read
/// (named on `/healthz` and `/admin`, never a crash).
pub fn parse_seed(value: &str) -> (Vec<AdminRule>, Vec<String>) {
    let mut rules: Vec<AdminRule> = Vec::new();
    let mut problems = Vec::new();
    for raw in value
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.trim().is_empty())
    {
        match AdminRule::parse(raw) {
            Ok(r) if !rules.contains(&r) => rules.push(r),
            Ok(_) => {}
            Err(e) => problems.push(e),
        }
    }
    if rules.len() > MAX_ADMINS {
        problems.push(format!(
            "ADMINS has more than {MAX_ADMINS} entries; the rest are ignored"
        ));
        rules.truncate(MAX_ADMINS);
    }
    (rules, problems)
}

/// Where a row of the list came from: `ADMINS` (removed only by changing it) or an admin
/// on `/admin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Config,
    Admin,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Config => "config",
            Source::Admin => "admin",
        }
    }

    pub fn from_str_lossy(s: &str) -> Source {
        if s == "config" {
            Source::Config
        } else {
            Source::Admin
        }
    }
}

/// One row of the list as D1 keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admin {
    pub id: i64,
    pub rule: AdminRule,
    /// For a `github:<login>` rule: the account bound at its first sign-in.
    pub github_id: Option<i64>,
    pub source: Source,
    pub added_by: Option<String>,
    pub added_at: i64,
}

/// What seeding the list from `ADMINS` changes: rules it names that the list lacks are
/// added; rules it once seeded that it no longer names are removed (the var is the
/// authority over its own rows; an admin's rows are never touched; a rule an admin added
/// that `ADMINS` now names becomes the var's).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SeedPlan {
    pub add: Vec<AdminRule>,
    pub adopt: Vec<i64>,
    pub remove: Vec<i64>,
}

impl SeedPlan {
    pub fn is_empty(&self) -> bool {
        self.add.is_empty() && self.adopt.is_empty() && self.remove.is_empty()
    }
}

pub fn seed_plan(rows: &[Admin], seed: &[AdminRule]) -> SeedPlan {
    let mut plan = SeedPlan::default();
    for rule in seed {
        match rows.iter().find(|r| r.rule == *rule) {
            None => plan.add.push(rule.clone()),
            Some(r) if r.source == Source::Admin => plan.adopt.push(r.id),
            Some(_) => {}
        }
    }
    plan.remove = rows
        .iter()
        .filter(|r| r.source == Source::Config && !seed.contains(&r.rule))
        .map(|r| r.id)
        .collect();
    plan
}

/// Whether an admin may remove this row on `/admin`: only rows an admin added. A row
/// `ADMINS` seeded is removed by changing `ADMINS` (else the next seeding would bring it
/// back); and nobody removes the last rule through the page.
pub fn removable(row: &Admin, rows: &[Admin]) -> Result<(), &'static str> {
    if row.source == Source::Config {
        return Err("that admin comes from the ADMINS setting: change it there to remove them");
    }
    if rows.len() <= 1 {
        return Err("that is the last admin; add another first");
    }
    Ok(())
}

/// Which provider vouches for a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Account {
    GitHub { id: i64, login: String },
    Oidc { issuer: String, subject: String },
}

/// A person a provider signed in: the account, their email and whether the provider
/// verified it, and (GitHub, when a rule asks) the organizations they belong to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub account: Account,
    pub email: Option<String>,
    pub email_verified: bool,
    pub orgs: Vec<String>,
}

impl Identity {
    /// Who the audit log and the session name: `github:<login>` for GitHub, the email for
    /// an OpenID Connect account (its subject at the issuer when it has none).
    pub fn actor(&self) -> String {
        match &self.account {
            Account::GitHub { login, .. } => format!("github:{}", login.to_ascii_lowercase()),
            Account::Oidc { issuer, subject } => match self.verified_email() {
                Some(e) => e,
                None => {
                    let host = url::Url::parse(issuer)
                        .ok()
                        .and_then(|u| u.host_str().map(String::from))
                        .unwrap_or_default();
                    format!("{}@{host}", subject.chars().take(64).collect::<String>())
                }
            },
        }
    }

    /// Who a refusal is counted for (at most one audit record an hour each): the account.
    pub fn refusal_key(&self) -> String {
        match &self.account {
            Account::GitHub { id, .. } => format!("github:{id}"),
            Account::Oidc { issuer, subject } => format!("oidc:{issuer}#{subject}"),
        }
    }

    fn verified_email(&self) -> Option<String> {
        self.email
            .as_deref()
            .filter(|_| self.email_verified)
            .map(|e| e.trim().to_ascii_lowercase())
            .filter(|e| email_ok(e))
    }
}

/// Whether one rule lets this person in.
pub fn rule_admits(row: &Admin, who: &Identity) -> bool {
    let email = who.verified_email();
    match (&row.rule, &who.account) {
        (AdminRule::GitHubId(n), Account::GitHub { id, .. }) => n == id,
        (AdminRule::GitHubLogin(l), Account::GitHub { id, login }) => {
            l.eq_ignore_ascii_case(login) && row.github_id.is_none_or(|bound| bound == *id)
        }
        (AdminRule::Email(e), _) => email.as_deref() == Some(e.as_str()),
        (AdminRule::Domain(d), Account::Oidc { .. }) => email
            .as_deref()
            .and_then(|e| e.rsplit_once('@'))
            .is_some_and(|(_, domain)| domain == d),
        (AdminRule::GitHubOrg(o), Account::GitHub { .. }) => {
            who.orgs.iter().any(|m| m.eq_ignore_ascii_case(o))
        }
        _ => false,
    }
}

/// The narrowest row of the list that lets this person in, if any.
pub fn admit<'a>(rows: &'a [Admin], who: &Identity) -> Option<&'a Admin> {
    rows.iter()
        .filter(|r| rule_admits(r, who))
        .min_by_key(|r| (r.rule.rank(), r.id))
}

/// Why a person was not let in, in words for them (and the audit).
pub fn refusal_reason(rows: &[Admin], who: &Identity) -> &'static str {
    let email_rules = rows
        .iter()
        .any(|r| matches!(r.rule, AdminRule::Email(_) | AdminRule::Domain(_)));
    if who.email.is_some() && !who.email_verified && email_rules {
        "your email address is not verified by the provider"
    } else {
        "you are not an admin of this planet"
    }
}

/// Whether the list needs the GitHub organizations a person belongs to (one more call).
pub fn needs_orgs(rows: &[Admin]) -> bool {
    rows.iter()
        .any(|r| matches!(r.rule, AdminRule::GitHubOrg(_)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64, rule: &str, source: Source) -> Admin {
        Admin {
            id,
            rule: AdminRule::parse(rule).expect("rule"),
            github_id: None,
            source,
            added_by: None,
            added_at: 0,
        }
    }

    fn github(id: i64, login: &str, email: Option<&str>) -> Identity {
        Identity {
            account: Account::GitHub {
                id,
                login: login.into(),
            },
            email: email.map(String::from),
            email_verified: email.is_some(),
            orgs: vec![],
        }
    }

    fn oidc(sub: &str, email: &str, verified: bool) -> Identity {
        Identity {
            account: Account::Oidc {
                issuer: "https://id.example".into(),
                subject: sub.into(),
            },
            email: Some(email.into()),
            email_verified: verified,
            orgs: vec![],
        }
    }

    #[test]
    fn rules_are_read_and_written_one_canonical_way() {
        let read = |s: &str| AdminRule::parse(s).map(|r| r.text());
        assert_eq!(read("github:583231").as_deref(), Ok("github:583231"));
        assert_eq!(read(" GitHub:@OctoCat ").as_deref(), Ok("github:octocat"));
        assert_eq!(read("Ada@Example.ORG").as_deref(), Ok("ada@example.org"));
        assert_eq!(read("*@Example.org").as_deref(), Ok("*@example.org"));
        assert_eq!(
            read("github-org:Rust-Lang").as_deref(),
            Ok("github-org:rust-lang")
        );
        for bad in [
            "",
            "github:",
            "github:0",
            "github:-x",
            "ada",
            "*@",
            "*@localhost",
            "a b@c.d",
            "x@y",
            "github-org:a b",
        ] {
            assert!(AdminRule::parse(bad).is_err(), "{bad:?}");
        }
        let (rules, problems) =
            parse_seed("github:1, ada@example.org\n*@corp.example  github:1 nope");
        assert_eq!(rules.len(), 3, "the repeat is one rule");
        assert_eq!(problems.len(), 1);
        assert!(problems[0].contains("\"nope\""), "{problems:?}");
    }

    #[test]
    fn github_users_are_matched_by_id_and_a_login_only_until_it_is_bound() {
        let rows = [row(1, "github:583231", Source::Config)];
        assert!(
            admit(&rows, &github(583231, "renamed", None)).is_some(),
            "the id, whatever the login"
        );
        assert!(admit(&rows, &github(9, "octocat", None)).is_none());
        let mut by_login = row(2, "github:octocat", Source::Config);
        assert!(
            rule_admits(&by_login, &github(7, "OctoCat", None)),
            "first sign-in binds"
        );
        by_login.github_id = Some(7);
        assert!(rule_admits(&by_login, &github(7, "octocat", None)));
        assert!(
            !rule_admits(&by_login, &github(8, "octocat", None)),
            "someone who took the login later is not the admin"
        );
    }

    #[test]
    fn emails_must_be_verified_and_domain_rules_are_for_openid_connect_only() {
        let rows = [
            row(1, "ada@example.org", Source::Admin),
            row(2, "*@corp.example", Source::Admin),
        ];
        assert_eq!(
            admit(&rows, &oidc("s1", "ADA@example.org", true)).map(|r| r.id),
            Some(1)
        );
        assert_eq!(
            admit(&rows, &oidc("s1", "ada@example.org", false)),
            None,
            "unverified"
        );
        assert_eq!(
            admit(&rows, &oidc("s2", "bob@corp.example", true)).map(|r| r.id),
            Some(2)
        );
        assert_eq!(
            admit(&rows, &oidc("s2", "bob@evilcorp.example", true)),
            None
        );
        assert_eq!(
            admit(&rows, &oidc("s2", "bob@corp.example.evil", true)),
            None
        );
        assert_eq!(
            admit(&rows, &github(5, "bob", Some("bob@corp.example"))),
            None,
            "no domain rule for GitHub"
        );
        assert_eq!(
            admit(&rows, &github(5, "ada", Some("ada@example.org"))).map(|r| r.id),
            Some(1)
        );
        assert_eq!(
            refusal_reason(&rows, &oidc("s1", "ada@example.org", false)),
            "your email address is not verified by the provider"
        );
        assert_eq!(
            refusal_reason(&rows, &oidc("s3", "eve@else.example", true)),
            "you are not an admin of this planet"
        );
    }

    #[test]
    fn the_narrowest_rule_wins_and_organizations_need_membership() {
        let rows = [
            row(1, "*@corp.example", Source::Admin),
            row(2, "ann@corp.example", Source::Admin),
            row(3, "github-org:orrery", Source::Admin),
        ];
        assert_eq!(
            admit(&rows, &oidc("s", "ann@corp.example", true)).map(|r| r.id),
            Some(2)
        );
        assert!(needs_orgs(&rows));
        let mut member = github(4, "ann", None);
        assert_eq!(admit(&rows, &member), None);
        member.orgs = vec!["Orrery".into()];
        assert_eq!(admit(&rows, &member).map(|r| r.id), Some(3));
    }

    #[test]
    fn the_seed_adds_what_it_names_and_removes_only_what_it_once_seeded() {
        let rows = [
            row(1, "github:1", Source::Config),
            row(2, "ada@example.org", Source::Config),
            row(3, "bob@example.org", Source::Admin),
            row(4, "cy@example.org", Source::Admin),
        ];
        let (seed, _) = parse_seed("github:1 cy@example.org *@corp.example");
        let plan = seed_plan(&rows, &seed);
        assert_eq!(plan.add, vec![AdminRule::Domain("corp.example".into())]);
        assert_eq!(plan.adopt, vec![4]);
        assert_eq!(plan.remove, vec![2], "the admin's own bob stays");
        assert!(seed_plan(&rows[..1], &seed[..1]).is_empty());
    }

    #[test]
    fn seeded_admins_and_the_last_admin_cannot_be_removed_on_the_page() {
        let rows = [
            row(1, "github:1", Source::Config),
            row(2, "a@b.example", Source::Admin),
        ];
        assert!(removable(&rows[0], &rows).is_err());
        assert!(removable(&rows[1], &rows).is_ok());
        assert!(removable(&rows[1], &rows[1..]).is_err());
    }

    #[test]
    fn the_audit_names_the_person() {
        assert_eq!(github(5, "OctoCat", None).actor(), "github:octocat");
        assert_eq!(
            oidc("s", "Ann@Corp.example", true).actor(),
            "ann@corp.example"
        );
        assert_eq!(
            oidc("s-9", "ann@corp.example", false).actor(),
            "s-9@id.example"
        );
        assert_eq!(github(5, "x", None).refusal_key(), "github:5");
    }
}
