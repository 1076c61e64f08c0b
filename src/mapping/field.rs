//! Where in a document a value sits, for errors: `patches[3].geometry.coordinates[0]`.
//!
//! A [`Field`] borrows its parent and is only written out when an error is built, so
//! naming the fields of every partition and position costs nothing on success.

use std::fmt;

/// A place in a config or annotation, printed as a path (`config.crs`, `patches[3]`).
#[derive(Debug, Clone, Copy)]
pub enum Field<'a> {
    /// A name printed as it is (`config`, `annotations.org.stacspec.bbox`).
    Root(&'a str),
    /// A member of an object: `parent.name`.
    Member(&'a Field<'a>, &'a str),
    /// An element of an array: `parent[index]`.
    Index(&'a Field<'a>, usize),
}

impl Field<'_> {
    /// The member `name` of this object.
    pub fn member<'b>(&'b self, name: &'b str) -> Field<'b> {
        Field::Member(self, name)
    }

    /// The element `index` of this array.
    pub fn index(&self, index: usize) -> Field<'_> {
        Field::Index(self, index)
    }
}

impl fmt::Display for Field<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Field::Root(name) => f.write_str(name),
            Field::Member(parent, name) => write!(f, "{parent}.{name}"),
            Field::Index(parent, index) => write!(f, "{parent}[{index}]"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_paths() {
        assert_eq!(Field::Root("config").to_string(), "config");
        let patches = Field::Root("patches");
        let patch = patches.index(3);
        let geometry = patch.member("geometry");
        let coordinates = geometry.member("coordinates");
        assert_eq!(
            coordinates.index(0).index(12).to_string(),
            "patches[3].geometry.coordinates[0][12]"
        );
        assert_eq!(
            patch.member("temporal_coverage").member("S2").to_string(),
            "patches[3].temporal_coverage.S2"
        );
        assert_eq!(
            format!(
                "{}: empty",
                Field::Root("annotations.org.stacspec.bbox").member("x")
            ),
            "annotations.org.stacspec.bbox.x: empty"
        );
    }
}
