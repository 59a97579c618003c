//! Caps on what one list request may ask for, shared by the gateway and the
//! services, so a hostile filter is refused at every door (REST and gRPC)
//! before it reaches a query, instead of becoming an unbounded `IN (…)` list.
//! Callers name the field in their own API's words.

/// Most values one filter may take.
pub const MAX_FILTER_VALUES: usize = 100;
/// Longest value of a text filter, in characters.
pub const MAX_FILTER_CHARS: usize = 200;

/// At most [`MAX_FILTER_VALUES`] values.
pub fn check_filter_count(count: usize) -> Result<(), String> {
    if count > MAX_FILTER_VALUES {
        return Err(format!("at most {MAX_FILTER_VALUES} values, got {count}"));
    }
    Ok(())
}

/// At most [`MAX_FILTER_VALUES`] values, each at most [`MAX_FILTER_CHARS`] characters.
pub fn check_text_filter<S: AsRef<str>>(values: &[S]) -> Result<(), String> {
    check_filter_count(values.len())?;
    if values.iter().any(|v| v.as_ref().chars().count() > MAX_FILTER_CHARS) {
        return Err(format!("a value is longer than {MAX_FILTER_CHARS} characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_lengths_are_capped_at_their_limits() {
        assert!(check_filter_count(MAX_FILTER_VALUES).is_ok());
        let err = check_filter_count(MAX_FILTER_VALUES + 1).expect_err("one too many");
        assert!(err.contains("at most 100") && err.contains("101"), "{err}");
        let long = "é".repeat(MAX_FILTER_CHARS);
        assert!(check_text_filter(&[long.as_str()]).is_ok(), "characters, not bytes");
        let longer = "x".repeat(MAX_FILTER_CHARS + 1);
        assert!(check_text_filter(&[longer]).is_err());
        let many = vec!["k"; MAX_FILTER_VALUES + 1];
        assert!(check_text_filter(&many).is_err());
    }
}
