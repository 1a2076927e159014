//! Which flaky occurrences a read covers ([`FlakyFilter`]) and its SQL
//! conditions, shared by the occurrence reads and the attempt tally.

use crate::domain::ProviderKind;
use crate::store::rows::provider_id;

/// Which occurrences a read covers (exact matches; `None`: any).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlakyFilter {
    pub repo: Option<String>,
    pub workflow: Option<String>,
    pub branch: Option<String>,
    pub provider: Option<ProviderKind>,
}

/// ` AND column = $n` for each filter field, pushing its bind (numbered
/// after `taken` placeholders).
pub(super) fn filter_sql(filter: &FlakyFilter, taken: usize, binds: &mut Vec<String>) -> String {
    let mut sql = String::new();
    for (column, value) in
        [("repo", &filter.repo), ("workflow", &filter.workflow), ("branch", &filter.branch)]
    {
        if let Some(value) = value {
            binds.push(value.clone());
            sql.push_str(&format!(" AND {column} = ${}", binds.len() + taken));
        }
    }
    if let Some(provider) = filter.provider {
        // An integer of our own, formatted in.
        sql.push_str(&format!(" AND provider_id = {}", provider_id(provider)));
    }
    sql
}
