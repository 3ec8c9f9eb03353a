//! Which topics a route, `bag record` or a replay takes: one matcher for
//! all of them.

use std::collections::HashSet;

/// What a pattern route (`match:`) leaves out unless it sets
/// `system_topics: true`: the graph's bookkeeping, the clock (the `clock:`
/// section and `use_sim_time` have it), diagnostics (the bridge publishes
/// its own), and actions' internal topics (action routes carry those).
pub const SYSTEM_TOPICS: &[&str] = &[
    "/rosout",
    "/parameter_events",
    "/clock",
    "/diagnostics",
    "/diagnostics_agg",
];

/// Actions' feedback and status topics (`/<action>/_action/...`).
pub const ACTION_TOPICS_PATTERN: &str = "/_action/";

/// One topic by name, or every topic whose name matches a pattern.
#[derive(Debug, Clone)]
pub enum TopicSelector {
    /// One topic, as written (relative names resolve in the node's namespace).
    Topic(String),
    /// Every topic whose fully qualified name matches, now or later.
    Pattern(regex::Regex),
}

impl TopicSelector {
    /// Whether `topic` (fully qualified) is one this selects.
    pub fn matches(&self, topic: &str) -> bool {
        match self {
            TopicSelector::Topic(t) => t == topic,
            TopicSelector::Pattern(re) => re.is_match(topic),
        }
    }

    /// The topic or pattern, for messages.
    pub fn describe(&self) -> String {
        match self {
            TopicSelector::Topic(t) => t.clone(),
            TopicSelector::Pattern(p) => format!("match `{}`", p.as_str()),
        }
    }
}

/// Named topics, patterns and optionally every topic. Topics that only a
/// pattern or "every topic" picks can be excluded (the bridge's own
/// publications, the graph's bookkeeping topics); a named topic is always
/// taken, since someone asked for it by name.
#[derive(Debug, Clone, Default)]
pub struct TopicMatcher {
    named: Vec<String>,
    patterns: Vec<regex::Regex>,
    every_topic: bool,
    excluded: HashSet<String>,
    excluded_patterns: Vec<regex::Regex>,
}

impl TopicMatcher {
    pub fn new(selectors: impl IntoIterator<Item = TopicSelector>) -> Self {
        let mut matcher = TopicMatcher::default();
        for selector in selectors {
            match selector {
                TopicSelector::Topic(t) if !matcher.named.contains(&t) => matcher.named.push(t),
                TopicSelector::Topic(_) => {}
                TopicSelector::Pattern(re) => matcher.patterns.push(re),
            }
        }
        matcher
    }

    /// Also every topic.
    pub fn with_every_topic(mut self) -> Self {
        self.every_topic = true;
        self
    }

    /// Never these, unless named.
    pub fn excluding<S: Into<String>>(mut self, topics: impl IntoIterator<Item = S>) -> Self {
        self.excluded.extend(topics.into_iter().map(Into::into));
        self
    }

    /// Never a topic these match, unless named.
    pub fn excluding_patterns(mut self, patterns: impl IntoIterator<Item = regex::Regex>) -> Self {
        self.excluded_patterns.extend(patterns);
        self
    }

    /// Without [`SYSTEM_TOPICS`] and actions' internal topics, unless named.
    pub fn excluding_system_topics(self) -> Self {
        let actions = regex::Regex::new(ACTION_TOPICS_PATTERN).expect("a valid pattern");
        self.excluding(SYSTEM_TOPICS.iter().copied())
            .excluding_patterns([actions])
    }

    /// Whether an exclusion leaves `topic` out (named topics never are).
    pub fn excludes(&self, topic: &str) -> bool {
        !self.named.iter().any(|t| t == topic)
            && (self.excluded.contains(topic)
                || self.excluded_patterns.iter().any(|re| re.is_match(topic)))
    }

    /// Takes what `other` takes too. Exclusions stay per matcher: a topic
    /// excluded by one but taken by the other is taken.
    pub fn union(mut self, other: &TopicMatcher) -> Self {
        if self.is_empty() {
            return other.clone();
        }
        if other.is_empty() {
            return self;
        }
        for t in &other.named {
            if !self.named.contains(t) {
                self.named.push(t.clone());
            }
        }
        self.patterns.extend(other.patterns.iter().cloned());
        self.every_topic |= other.every_topic;
        self.excluded.retain(|t| other.excluded.contains(t));
        self.excluded_patterns.retain(|p| {
            other
                .excluded_patterns
                .iter()
                .any(|o| o.as_str() == p.as_str())
        });
        self
    }

    pub fn is_empty(&self) -> bool {
        self.named.is_empty() && self.patterns.is_empty() && !self.every_topic
    }

    /// The topics given by name.
    pub fn named(&self) -> &[String] {
        &self.named
    }

    pub fn matches(&self, topic: &str) -> bool {
        if self.named.iter().any(|t| t == topic) {
            return true;
        }
        !self.excludes(topic)
            && (self.every_topic || self.patterns.iter().any(|re| re.is_match(topic)))
    }

    /// The topics taken among `present` (the graph's, a bag's), then the
    /// named ones not among them (wanted before anyone publishes them).
    pub fn select<'a>(&self, present: impl IntoIterator<Item = &'a str>) -> Vec<String> {
        let mut taken: Vec<String> = present
            .into_iter()
            .filter(|t| self.matches(t))
            .map(String::from)
            .collect();
        for t in &self.named {
            if !taken.contains(t) {
                taken.push(t.clone());
            }
        }
        taken
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(re: &str) -> TopicSelector {
        TopicSelector::Pattern(regex::Regex::new(re).unwrap())
    }

    #[test]
    fn named_topics_are_taken_even_when_excluded_or_absent() {
        let m = TopicMatcher::new([TopicSelector::Topic("/own".into()), pattern("^/cam")])
            .excluding(["/own", "/cam/own"]);
        assert!(m.matches("/own"));
        assert!(m.matches("/cam/a"));
        assert!(!m.matches("/cam/own"));
        assert!(!m.matches("/other"));
        assert_eq!(m.select(["/cam/a", "/cam/own", "/x"]), ["/cam/a", "/own"]);
    }

    #[test]
    fn every_topic_with_bookkeeping_left_out() {
        let m = TopicMatcher::default()
            .with_every_topic()
            .excluding(["/rosout"]);
        assert!(m.matches("/anything"));
        assert!(!m.matches("/rosout"));
        assert!(TopicMatcher::default().is_empty());
        assert!(!m.is_empty());
    }

    #[test]
    fn patterns_leave_out_system_topics_and_exclusions_unless_named() {
        let everything = TopicMatcher::new([pattern(".*"), TopicSelector::Topic("/clock".into())])
            .excluding_system_topics()
            .excluding_patterns([regex::Regex::new("^/secret/").unwrap()]);
        for taken in ["/a/x", "/clock", "/tf"] {
            assert!(everything.matches(taken), "{taken}");
        }
        for left in [
            "/rosout",
            "/parameter_events",
            "/diagnostics",
            "/secret/z",
            "/dock/_action/status",
        ] {
            assert!(!everything.matches(left), "{left}");
            assert!(everything.excludes(left), "{left}");
        }
    }

    #[test]
    fn union_takes_what_either_takes() {
        let a = TopicMatcher::new([pattern("^/a")]).excluding(["/a/own", "/b/x"]);
        let b = TopicMatcher::new([TopicSelector::Topic("/b/x".into())]).excluding(["/a/own"]);
        let both = a.union(&b);
        assert!(both.matches("/a/1"));
        assert!(both.matches("/b/x"));
        assert!(!both.matches("/a/own"));
        assert!(!both.matches("/c"));
    }
}
