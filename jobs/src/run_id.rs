//! Run ids name a run's folders in every zone of the lake (`staging/runs/<id>/`,
//! `curated/runs/<id>/`, `reports/<id>/`), its pointer files and its
//! warehouse load, so they must be one path segment that every object store
//! and URL keeps as written.

/// The longest run id accepted: room for a timestamp, a label and a suffix.
pub const MAX_LEN: usize = 64;

/// Checks a run id given on the command line: 1 to [`MAX_LEN`] characters of
/// `A-Z a-z 0-9 . _ -`, starting with a letter or digit (so never `.`, `..`
/// or something that reads as a flag). Used as clap's value parser.
pub fn parse(id: &str) -> Result<String, String> {
    let rule = format!(
        "a run id is 1 to {MAX_LEN} characters of A-Z, a-z, 0-9, '.', '_' and '-', starting with a letter or digit"
    );
    if id.is_empty() || id.len() > MAX_LEN {
        return Err(format!("{} characters: {rule}", id.chars().count()));
    }
    if !id.as_bytes()[0].is_ascii_alphanumeric() {
        return Err(format!(
            "{id:?} starts with {:?}: {rule}",
            id.chars().next().unwrap_or(' ')
        ));
    }
    if let Some(bad) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(format!("{id:?} holds {bad:?}: {rule}"));
    }
    Ok(id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_ids_pass_and_path_tricks_do_not() {
        for ok in [
            "r1",
            "20261201T152243Z-6e29b6",
            "manual__2026-12-01T00.00.00",
            "A.b_c-9",
        ] {
            assert_eq!(parse(ok).as_deref(), Ok(ok));
        }
        for bad in [
            "",
            ".",
            "..",
            "../x",
            "a/b",
            "-rf",
            "é",
            "a b",
            "a%2Fb",
            "x#y",
            &"a".repeat(65),
        ] {
            let err = parse(bad).unwrap_err();
            assert!(err.contains("a run id is"), "{bad:?}: {err}");
        }
    }
}
