//! Kaggle: credentials the way Kaggle users keep them, the dataset download, and
//! the zip check.

use std::path::{Path, PathBuf};

use super::ExtractError;

/// A Kaggle user and API key.
pub struct Credentials {
    pub user: String,
    pub key: String,
    /// Where they came from, for messages.
    pub source: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("source", &self.source)
            .finish()
    }
}

/// `KAGGLE_USERNAME`/`KAGGLE_KEY`, else `<dir>/kaggle.json` (dir defaults to
/// `~/.kaggle`). A kaggle.json others can read is refused, as the official
/// client warns about it.
pub fn credentials(config_dir: &str) -> Result<Credentials, ExtractError> {
    if let (Ok(user), Ok(key)) = (
        std::env::var("KAGGLE_USERNAME"),
        std::env::var("KAGGLE_KEY"),
    ) {
        return Ok(Credentials {
            user,
            key,
            source: "KAGGLE_USERNAME/KAGGLE_KEY".into(),
        });
    }
    let dir = if config_dir.is_empty() {
        std::env::var_os("HOME")
            .map(|h| PathBuf::from(h).join(".kaggle"))
            .unwrap_or_else(|| PathBuf::from(".kaggle"))
    } else {
        PathBuf::from(config_dir)
    };
    let path = dir.join("kaggle.json");
    let missing = || ExtractError::Credentials {
        detail: format!(
            "set KAGGLE_USERNAME and KAGGLE_KEY, or create {} (chmod 600)",
            path.display()
        ),
    };
    let text = std::fs::read_to_string(&path).map_err(|_| missing())?;
    check_private(&path)?;
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| ExtractError::Credentials {
            detail: format!(
                "{} is not valid JSON ({e}); expected {{\"username\": …, \"key\": …}}",
                path.display()
            ),
        })?;
    match (json["username"].as_str(), json["key"].as_str()) {
        (Some(user), Some(key)) => Ok(Credentials {
            user: user.into(),
            key: key.into(),
            source: path.display().to_string(),
        }),
        _ => Err(ExtractError::Credentials {
            detail: format!("{} lacks \"username\" or \"key\"", path.display()),
        }),
    }
}

#[cfg(unix)]
fn check_private(path: &Path) -> Result<(), ExtractError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map(|m| m.permissions().mode())
        .unwrap_or(0);
    if mode & 0o077 != 0 {
        return Err(ExtractError::Credentials {
            detail: format!(
                "{} is readable by other users (mode {:o}); run `chmod 600 {}`",
                path.display(),
                mode & 0o777,
                path.display()
            ),
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_: &Path) -> Result<(), ExtractError> {
    Ok(())
}

/// The URL the official client downloads a whole dataset from.
pub fn download_url(base: &str, dataset: &str) -> String {
    format!(
        "{}/api/v1/datasets/download/{}",
        base.trim_end_matches('/'),
        dataset
    )
}

/// Extracts the CSV files of a complete zip into `dir`; returns their paths.
/// A zip without its central directory (truncated) or with a corrupt member
/// is an error naming the file.
pub fn unzip_csvs(zip_path: &Path, dir: &Path) -> Result<Vec<PathBuf>, ExtractError> {
    let bad = |detail: String| ExtractError::BadZip {
        file: zip_path.display().to_string(),
        detail,
    };
    let file = std::fs::File::open(zip_path).map_err(|e| bad(e.to_string()))?;
    let mut archive =
        zip::ZipArchive::new(file).map_err(|e| bad(format!("not a complete zip: {e}")))?;
    let mut out = Vec::new();
    for i in 0..archive.len() {
        let mut member = archive.by_index(i).map_err(|e| bad(e.to_string()))?;
        let Some(name) = member
            .enclosed_name()
            .and_then(|p| p.file_name().map(PathBuf::from))
        else {
            continue;
        };
        if name.extension().and_then(|e| e.to_str()) != Some("csv") {
            continue;
        }
        let path = dir.join(&name);
        let mut dest = std::fs::File::create(&path)
            .map_err(|e| bad(format!("writing {}: {e}", path.display())))?;
        std::io::copy(&mut member, &mut dest)
            .map_err(|e| bad(format!("member {}: {e}", name.display())))?;
        out.push(path);
    }
    if out.is_empty() {
        return Err(bad("holds no CSV file".into()));
    }
    for path in &out {
        check_header(path).map_err(&bad)?;
    }
    Ok(out)
}

/// The header each Kaggle file must start with (others are landed unchecked).
fn expected_header(file: &str) -> Option<String> {
    use crate::staging::{links, movies};
    match file {
        "movies_metadata.csv" => Some(movies::HEADER.join(",")),
        "links.csv" | "links_small.csv" => Some(links::HEADER.join(",")),
        f if f.starts_with("ratings") => Some("userId,movieId,rating,timestamp".into()),
        _ => None,
    }
}

fn check_header(path: &Path) -> Result<(), String> {
    use std::io::BufRead;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let Some(expected) = expected_header(&name) else {
        return Ok(());
    };
    let file = std::fs::File::open(path).map_err(|e| format!("{name}: {e}"))?;
    let mut first = String::new();
    std::io::BufReader::new(file)
        .read_line(&mut first)
        .map_err(|e| format!("{name}: {e}"))?;
    let found = first
        .trim_end_matches(['\r', '\n'])
        .trim_start_matches('\u{feff}');
    if found != expected {
        return Err(format!(
            "{name} has header {found:?}, expected {expected:?}"
        ));
    }
    Ok(())
}
