//! Recipe-type rules that need no storage: names from titles, ordering fields.

use unicode_normalization::UnicodeNormalization;

/// Longest name derived from a title.
pub const MAX_NAME_LEN: usize = 30;
pub const RESERVED_NAME: &str = "validation";
pub const MAX_TITLE_LEN: usize = 50;
pub const MAX_DESCRIPTION_LEN: usize = 500;

/// A recipe type's database id (never a revision's).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecipeTypeId(pub i64);

impl std::fmt::Display for RecipeTypeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A recipe type as stored. Times are microseconds since the Unix epoch.
#[derive(Clone, Debug, PartialEq)]
pub struct RecipeType {
    pub id: RecipeTypeId,
    pub name: String,
    pub title: String,
    pub description: Option<String>,
    pub is_active: bool,
    pub is_system: bool,
    pub revision_num: i64,
    pub definition: String,
    pub created: i64,
    pub deprecated: Option<i64>,
    pub last_modified: i64,
    /// Grows with every write of the row; an update names the version it read
    /// (optimistic concurrency), so a lost race writes nothing.
    pub row_version: i64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Revision {
    pub id: i64,
    pub recipe_type_id: RecipeTypeId,
    pub revision_num: i64,
    pub definition: String,
    pub created: i64,
}

/// Text both databases store alike: PostgreSQL cannot hold NUL characters.
fn no_nul(field: &str, text: &str) -> Result<(), String> {
    if text.contains('\0') {
        Err(format!("Parameter must not contain NUL characters: \"{field}\""))
    } else {
        Ok(())
    }
}

/// A recipe type's title: no NUL, at most [`MAX_TITLE_LEN`] characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Title(String);

impl Title {
    pub fn parse(text: String) -> Result<Self, String> {
        no_nul("title", &text)?;
        if text.chars().count() > MAX_TITLE_LEN {
            return Err(format!("Title must be at most {MAX_TITLE_LEN} characters"));
        }
        Ok(Self(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A recipe type's description: no NUL, at most [`MAX_DESCRIPTION_LEN`] characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Description(String);

impl Description {
    pub fn parse(text: String) -> Result<Self, String> {
        no_nul("description", &text)?;
        if text.chars().count() > MAX_DESCRIPTION_LEN {
            return Err(format!("Description must be at most {MAX_DESCRIPTION_LEN} characters"));
        }
        Ok(Self(text))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A keyword of a list filter: no NUL.
pub fn check_keyword(keyword: &str) -> Result<(), String> {
    no_nul("keyword", keyword)
}

/// What a new recipe type is made from, validated at the edge.
#[derive(Clone, Debug)]
pub struct NewRecipeType {
    pub title: Title,
    pub description: Option<Description>,
    pub definition: String,
}

/// Scale's PATCH: each field present is changed.
#[derive(Clone, Debug)]
pub struct Edit {
    pub title: Option<Title>,
    pub description: Option<Description>,
    pub definition: Option<String>,
    pub auto_update: bool,
    pub is_active: Option<bool>,
}

/// Scale's name from a title: Django's `slugify` (NFKD, ASCII only, drop
/// anything but word characters, spaces and hyphens, lowercase, runs of spaces
/// and hyphens become one hyphen), then `_` → `-`, cut to 30 characters.
pub fn name_from_title(title: &str) -> String {
    let ascii: String = title.nfkd().filter(char::is_ascii).collect();
    let kept: String = ascii
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-' || c.is_ascii_whitespace())
        .collect();
    let lowered = kept.trim().to_ascii_lowercase();
    let mut slug = String::with_capacity(lowered.len());
    let mut in_run = false;
    for c in lowered.chars() {
        if c == '-' || c.is_ascii_whitespace() {
            if !in_run {
                slug.push('-');
            }
            in_run = true;
        } else {
            slug.push(if c == '_' { '-' } else { c });
            in_run = false;
        }
    }
    slug.chars().take(MAX_NAME_LEN).collect()
}

/// One field of the `order` parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderBy {
    pub field: OrderField,
    pub descending: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderField {
    Name,
    Title,
    Created,
    LastModified,
    RevisionNum,
}

impl OrderField {
    /// The SQL expression sorted on; text sorts case-insensitively as Scale's `Lower()`.
    pub fn sql(self) -> &'static str {
        match self {
            Self::Name => "lower(name)",
            Self::Title => "lower(title)",
            Self::Created => "created",
            Self::LastModified => "last_modified",
            Self::RevisionNum => "revision_num",
        }
    }
}

/// Parses `order` values (each may hold a comma-separated list); unknown fields are errors.
pub fn parse_order(values: &[String]) -> Result<Vec<OrderBy>, String> {
    let mut order = Vec::new();
    for item in values.iter().flat_map(|v| v.split(',')).map(str::trim) {
        // An empty value (`?order=`, a stray comma) names no field: refused, as the
        // documented enum says, rather than read as "default order".
        let (descending, field) = match item.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, item),
        };
        let field = match field {
            "name" => OrderField::Name,
            "title" => OrderField::Title,
            "created" => OrderField::Created,
            "last_modified" => OrderField::LastModified,
            "revision_num" => OrderField::RevisionNum,
            other => {
                return Err(format!(
                    "Invalid order field \"{other}\"; use name, title, created, last_modified or revision_num"
                ));
            }
        };
        order.push(OrderBy { field, descending });
    }
    if order.is_empty() {
        order.push(OrderBy {
            field: OrderField::Name,
            descending: false,
        });
    }
    Ok(order)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_like_django() {
        assert_eq!(name_from_title("Recipe Type Post Test"), "recipe-type-post-test");
        assert_eq!(name_from_title("  My_Recipe -- v2! "), "my-recipe-v2");
        assert_eq!(name_from_title("Crème brûlée"), "creme-brulee");
        assert_eq!(name_from_title("!!!"), "");
        assert_eq!(name_from_title(&"a".repeat(40)).len(), 30);
    }

    #[test]
    fn order_parses_lists_and_rejects_unknown() {
        let o = parse_order(&["-title,created".to_owned(), "revision_num".to_owned()]).unwrap_or_default();
        assert_eq!(o.len(), 3);
        assert_eq!(
            o[0],
            OrderBy {
                field: OrderField::Title,
                descending: true
            }
        );
        assert!(parse_order(&["bogus".to_owned()]).is_err());
        assert!(parse_order(&[String::new()]).is_err(), "an empty value names no field");
        assert!(parse_order(&["name,".to_owned()]).is_err(), "nor does a stray comma");
        assert_eq!(parse_order(&[]).unwrap_or_default()[0].field, OrderField::Name);
    }
}
