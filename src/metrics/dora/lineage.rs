//! Which commits a deployment carries: walked from the deployed SHA back
//! through the pushes that brought each commit (oldest first within a
//! push, then the push's `before`), until the previous successful
//! deployment's SHA, a commit no push is known for, or [`MAX_WALK`]
//! commits. A push listed as a deployment's own commits (generic events)
//! has the deployed SHA as its head and no `before`.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

/// Most commits one deployment is credited with (a safety cap: a
/// first deployment of a long-lived branch would otherwise walk it all).
pub const MAX_WALK: usize = 5_000;

/// One stored commit with the push that brought it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedCommit {
    pub sha: String,
    /// Committed time, else authored time.
    pub time: Option<DateTime<Utc>>,
    pub push_head: String,
    pub push_before: Option<String>,
    pub position: i64,
}

#[derive(Debug, Default)]
struct Push {
    before: Option<String>,
    /// Oldest first.
    shas: Vec<String>,
}

/// The commits of one repository, indexed for walking.
#[derive(Debug, Default)]
pub struct CommitIndex {
    at: HashMap<String, (String, usize)>,
    pushes: HashMap<String, Push>,
    times: HashMap<String, Option<DateTime<Utc>>>,
}

impl CommitIndex {
    pub fn new(commits: Vec<PushedCommit>) -> CommitIndex {
        let mut by_push: HashMap<String, Vec<PushedCommit>> = HashMap::new();
        for commit in commits {
            by_push.entry(commit.push_head.clone()).or_default().push(commit);
        }
        let mut index = CommitIndex::default();
        for (head, mut commits) in by_push {
            commits.sort_by_key(|c| c.position);
            let before = commits.iter().find_map(|c| c.push_before.clone());
            let mut push = Push { before, shas: Vec::with_capacity(commits.len()) };
            for (i, commit) in commits.into_iter().enumerate() {
                index.at.insert(commit.sha.clone(), (head.clone(), i));
                index.times.insert(commit.sha.clone(), commit.time);
                push.shas.push(commit.sha);
            }
            index.pushes.insert(head, push);
        }
        index
    }

    /// A commit's time, if the commit is known and has one.
    pub fn time(&self, sha: &str) -> Option<DateTime<Utc>> {
        self.times.get(sha).copied().flatten()
    }

    /// The commits from `target` back to (not including) `stop`, newest
    /// first (see the module doc).
    pub fn walk(&self, target: &str, stop: Option<&str>) -> Vec<String> {
        let mut out = Vec::new();
        let mut visited = HashSet::new();
        let mut current = target.to_owned();
        loop {
            if Some(current.as_str()) == stop || !visited.insert(current.clone()) {
                return out;
            }
            let (push, upto) = match self.pushes.get(&current) {
                Some(push) => (push, push.shas.len()),
                None => {
                    match self.at.get(&current).and_then(|(head, i)| Some((self.pushes.get(head)?, i + 1))) {
                        Some(found) => found,
                        None => return out,
                    }
                }
            };
            for sha in push.shas[..upto].iter().rev() {
                if Some(sha.as_str()) == stop || out.len() >= MAX_WALK {
                    return out;
                }
                if !out.contains(sha) {
                    out.push(sha.clone());
                }
            }
            match &push.before {
                Some(before) => current = before.clone(),
                None => return out,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commit(sha: &str, head: &str, before: Option<&str>, position: i64) -> PushedCommit {
        PushedCommit {
            sha: sha.into(),
            time: None,
            push_head: head.into(),
            push_before: before.map(str::to_owned),
            position,
        }
    }

    /// Pushes: (none→b: a, b), (b→d: c, d). From d back to a: d, c, b
    /// (stops before a); from c back to nothing: c, b, a; from b: b, a.
    #[test]
    fn walks_back_through_pushes_to_the_previous_deployment() {
        let index = CommitIndex::new(vec![
            commit("a", "b", None, 0),
            commit("b", "b", None, 1),
            commit("c", "d", Some("b"), 0),
            commit("d", "d", Some("b"), 1),
        ]);
        assert_eq!(index.walk("d", Some("a")), ["d", "c", "b"]);
        assert_eq!(index.walk("c", None), ["c", "b", "a"]);
        assert_eq!(index.walk("b", Some("b")), Vec::<String>::new());
        assert_eq!(index.walk("zzz", None), Vec::<String>::new());
    }
}
