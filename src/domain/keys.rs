//! The keys builds are grouped and filtered by, as small types so a
//! repository is never passed where a branch is meant (or the reverse):
//! [`RepoName`] (`owner/name`, or a nested `group/sub/project` path) and
//! [`BranchName`]. Both keep the provider's text exactly; the limits on
//! their length are `limits`' business.

use std::fmt;

macro_rules! key_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        pub struct $name(String);

        impl $name {
            /// The provider's text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The text, owned.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl From<String> for $name {
            fn from(text: String) -> Self {
                $name(text)
            }
        }

        impl From<&str> for $name {
            fn from(text: &str) -> Self {
                $name(text.to_owned())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }
    };
}

key_type!(
    /// A repository's full name as its provider gives it.
    RepoName
);

key_type!(
    /// A branch (git ref without `refs/heads/`) as the provider gives it.
    BranchName
);
