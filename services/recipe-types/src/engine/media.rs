//! The media type of a file value. Brigade has no file store, so a file is
//! a URI and its media type is whatever the producer declared, or a guess.

use crate::definition::FileInfo;

/// The producing parameter's media type when it declares exactly one (a job
/// output's `contentMediaType`), otherwise a guess from the URI's file name
/// (`application/octet-stream` when nothing fits).
pub fn media_type(uri: &str, declared: &[String]) -> String {
    if let [only] = declared {
        return only.clone();
    }
    let name = file_name(uri);
    mime_guess::from_path(&name)
        .first_or_octet_stream()
        .essence_str()
        .to_owned()
}

/// The URI's last path segment, without query or fragment: what a
/// `filename` filter compares.
pub fn file_name(uri: &str) -> String {
    FileInfo::from_uri(uri).file_name
}

/// What a data filter sees of one file.
pub fn file_info(uri: &str, declared: &[String]) -> FileInfo {
    FileInfo {
        file_name: file_name(uri),
        media_type: Some(media_type(uri, declared)),
        data_type_tags: None,
        meta_data: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_single_declared_type_wins() {
        let declared = vec!["image/tiff".to_owned()];
        assert_eq!(media_type("s3://b/x.json", &declared), "image/tiff");
    }

    #[test]
    fn otherwise_guessed_from_the_file_name() {
        assert_eq!(media_type("https://h/a/b.png?sig=1#f", &[]), "image/png");
        assert_eq!(media_type("file:///data/scan.tif", &[]), "image/tiff");
        assert_eq!(media_type("s3://bucket/report.json", &[]), "application/json");
        let two = vec!["a/b".to_owned(), "c/d".to_owned()];
        assert_eq!(media_type("s3://bucket/notes.txt", &two), "text/plain");
        assert_eq!(media_type("s3://bucket/blob", &[]), "application/octet-stream");
    }

    #[test]
    fn file_info_carries_name_and_type() {
        let info = file_info("https://h/dir/x.csv?v=2", &[]);
        assert_eq!(info.file_name, "x.csv");
        assert_eq!(info.media_type.as_deref(), Some("text/csv"));
    }

    proptest! {
        #[test]
        fn always_some_type_of_the_form_type_slash_subtype(uri in "[a-z]{1,5}://[a-z./?#]{0,20}") {
            let t = media_type(&uri, &[]);
            prop_assert!(t.contains('/'));
        }
    }
}
