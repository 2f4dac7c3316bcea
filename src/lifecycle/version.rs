//! Version engine: the next semver number for a release type.
//!
//! Input: the newest *finished* version (released, cancelled or delisted), the declared
//! release type and the optional declared `release.version`. Output: the version to record.
//! Rules (contract): first version 1.0.0; incompatible → (M+1).0.0, feature → M.(m+1).0,
//! fix → M.m.(p+1), re-release → the same number. A pre-release base is finished the way
//! `semver` tools do it (1.2.0-rc.1 + feature → 1.2.0), and a declared version may add a
//! pre-release/build suffix to the computed core, which is kept.

use semver::{BuildMetadata, Prerelease, Version};

use crate::model::ReleaseType;

/// Why no version could be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    #[error("release type `new` is only for the first version; the newest version is {0}")]
    NewWithHistory(String),
    #[error("release type `re-release` needs a cancelled version to release again")]
    NothingToReRelease,
    #[error("release.version `{declared}` does not match the computed version {computed}")]
    Mismatch { declared: String, computed: String },
    #[error("release.version `{0}` is not a valid semver version: {1}")]
    InvalidDeclared(String, String),
}

/// The first version of an image.
pub fn first() -> Version {
    Version::new(1, 0, 0)
}

/// Next version after `base` (the newest finished version) for `kind`.
pub fn next(base: Option<&Version>, kind: ReleaseType) -> Result<Version, VersionError> {
    let Some(b) = base else {
        return match kind {
            ReleaseType::ReRelease => Err(VersionError::NothingToReRelease),
            _ => Ok(first()),
        };
    };
    let pre = !b.pre.is_empty();
    let v = match kind {
        ReleaseType::New => return Err(VersionError::NewWithHistory(b.to_string())),
        ReleaseType::ReRelease => return Ok(b.clone()),
        ReleaseType::Incompatible if pre && b.minor == 0 && b.patch == 0 => {
            Version::new(b.major, 0, 0)
        }
        ReleaseType::Incompatible => Version::new(b.major + 1, 0, 0),
        ReleaseType::Feature if pre && b.patch == 0 => Version::new(b.major, b.minor, 0),
        ReleaseType::Feature => Version::new(b.major, b.minor + 1, 0),
        ReleaseType::Fix if pre => Version::new(b.major, b.minor, b.patch),
        ReleaseType::Fix => Version::new(b.major, b.minor, b.patch + 1),
    };
    Ok(v)
}

/// Apply a declared `release.version`: its core must equal `computed`'s; its suffix is kept.
pub fn with_declared(computed: Version, declared: Option<&str>) -> Result<Version, VersionError> {
    let Some(d) = declared else {
        return Ok(computed);
    };
    let dv = Version::parse(d.trim())
        .map_err(|e| VersionError::InvalidDeclared(d.to_string(), e.to_string()))?;
    let same_core =
        (dv.major, dv.minor, dv.patch) == (computed.major, computed.minor, computed.patch);
    // A re-release reuses a number exactly, suffix included.
    let suffix_ok = computed.pre == Prerelease::EMPTY && computed.build == BuildMetadata::EMPTY
        || dv == computed;
    if same_core && suffix_ok {
        Ok(dv)
    } else {
        Err(VersionError::Mismatch {
            declared: d.to_string(),
            computed: computed.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ReleaseType::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn next_version_table() {
        let cases: &[(Option<&str>, ReleaseType, Result<&str, VersionError>)] = &[
            (None, New, Ok("1.0.0")),
            (None, Feature, Ok("1.0.0")),
            (None, Fix, Ok("1.0.0")),
            (None, Incompatible, Ok("1.0.0")),
            (None, ReRelease, Err(VersionError::NothingToReRelease)),
            (Some("1.0.0"), Incompatible, Ok("2.0.0")),
            (Some("1.4.2"), Incompatible, Ok("2.0.0")),
            (Some("1.4.2"), Feature, Ok("1.5.0")),
            (Some("1.4.2"), Fix, Ok("1.4.3")),
            (Some("1.4.2"), ReRelease, Ok("1.4.2")),
            (
                Some("1.4.2"),
                New,
                Err(VersionError::NewWithHistory("1.4.2".into())),
            ),
            (Some("2.0.0-rc.1"), Incompatible, Ok("2.0.0")),
            (Some("2.1.0-rc.1"), Incompatible, Ok("3.0.0")),
            (Some("1.2.0-beta"), Feature, Ok("1.2.0")),
            (Some("1.2.3-beta"), Feature, Ok("1.3.0")),
            (Some("1.2.3-beta"), Fix, Ok("1.2.3")),
            (Some("1.2.3-beta"), ReRelease, Ok("1.2.3-beta")),
            (Some("0.9.9"), Incompatible, Ok("1.0.0")),
            (Some("1.2.3+build.5"), Fix, Ok("1.2.4")),
        ];
        for (base, kind, want) in cases {
            let got = next(base.map(v).as_ref(), *kind);
            let want = want.clone().map(v);
            assert_eq!(got, want, "base {base:?} {kind:?}");
        }
    }

    #[test]
    fn declared_version_table() {
        let cases: &[(&str, Option<&str>, Result<&str, ()>)] = &[
            ("1.1.0", None, Ok("1.1.0")),
            ("1.1.0", Some("1.1.0"), Ok("1.1.0")),
            ("2.0.0", Some("2.0.0-rc.1"), Ok("2.0.0-rc.1")),
            ("2.0.0", Some("2.0.0+build.7"), Ok("2.0.0+build.7")),
            ("1.1.0", Some("1.2.0"), Err(())),
            ("1.1.0", Some("v1.1.0"), Err(())),
            ("1.2.3-beta", Some("1.2.3-beta"), Ok("1.2.3-beta")),
            ("1.2.3-beta", Some("1.2.3-rc"), Err(())),
        ];
        for (computed, declared, want) in cases {
            let got = with_declared(v(computed), *declared).map_err(|_| ());
            assert_eq!(got, want.map(v), "{computed} {declared:?}");
        }
    }
}
