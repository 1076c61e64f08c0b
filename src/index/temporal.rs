//! Time intervals: the `datetime` search parameter and each Item's time range.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

/// A closed time interval; `None` is an open end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interval {
    /// Start, inclusive.
    pub start: Option<DateTime<Utc>>,
    /// End, inclusive.
    pub end: Option<DateTime<Utc>>,
}

impl Interval {
    /// Reads an RFC 3339 instant, or an interval `a/b` whose open ends are `..` or empty.
    /// A start later than the end is an error.
    pub fn parse(text: &str) -> Result<Interval, String> {
        let text = text.trim();
        let interval = match text.split_once('/') {
            None => {
                let instant = instant(text)?;
                Interval {
                    start: Some(instant),
                    end: Some(instant),
                }
            }
            Some((start, end)) => Interval {
                start: bound(start)?,
                end: bound(end)?,
            },
        };
        if let (Some(start), Some(end)) = (interval.start, interval.end)
            && start > end
        {
            return Err(format!("start {start} is after end {end}"));
        }
        Ok(interval)
    }

    /// An Item's time from its properties: `start_datetime`/`end_datetime` when either is
    /// present, else `datetime`; `None` when it has no readable time.
    pub fn of_item(properties: &Map<String, Value>) -> Option<Interval> {
        let read = |key: &str| {
            properties
                .get(key)
                .and_then(Value::as_str)
                .and_then(|text| instant(text).ok())
        };
        let (start, end) = (read("start_datetime"), read("end_datetime"));
        if start.is_some() || end.is_some() {
            return Some(Interval { start, end });
        }
        let instant = read("datetime")?;
        Some(Interval {
            start: Some(instant),
            end: Some(instant),
        })
    }

    /// Whether the two intervals share at least one instant.
    pub fn overlaps(&self, other: &Interval) -> bool {
        let before = |start: Option<DateTime<Utc>>, end: Option<DateTime<Utc>>| match (start, end) {
            (Some(start), Some(end)) => start <= end,
            _ => true,
        };
        before(self.start, other.end) && before(other.start, self.end)
    }
}

/// One end of an interval: `..` or empty is open.
fn bound(text: &str) -> Result<Option<DateTime<Utc>>, String> {
    match text.trim() {
        "" | ".." => Ok(None),
        text => instant(text).map(Some),
    }
}

/// An RFC 3339 date-time, in UTC.
pub(super) fn instant(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("`{text}` is not an RFC 3339 date-time ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(text: &str) -> Option<DateTime<Utc>> {
        Some(instant(text).unwrap())
    }

    #[test]
    fn parses_instants_and_intervals() {
        let t = "2020-01-01T00:00:00Z";
        assert_eq!(
            Interval::parse(t).unwrap(),
            Interval {
                start: at(t),
                end: at(t)
            }
        );
        let closed = Interval::parse("2020-01-01T00:00:00Z/2021-01-01T00:00:00+01:00").unwrap();
        assert_eq!(closed.end, at("2020-12-31T23:00:00Z"));
        assert_eq!(
            Interval::parse("../2020-01-01T00:00:00Z").unwrap().start,
            None
        );
        assert_eq!(
            Interval::parse("/2020-01-01T00:00:00Z").unwrap().start,
            None
        );
        assert_eq!(
            Interval::parse("2020-01-01T00:00:00Z/..").unwrap().end,
            None
        );
        assert_eq!(Interval::parse("2020-01-01T00:00:00Z/").unwrap().end, None);
        assert_eq!(
            Interval::parse("../..").unwrap(),
            Interval {
                start: None,
                end: None
            }
        );
    }

    #[test]
    fn rejects_bad_datetimes() {
        assert!(
            Interval::parse("2020-13-01T00:00:00Z")
                .unwrap_err()
                .contains("RFC 3339")
        );
        assert!(Interval::parse("yesterday").is_err());
        assert!(Interval::parse("").is_err());
        let reversed = Interval::parse("2021-01-01T00:00:00Z/2020-01-01T00:00:00Z");
        assert!(reversed.unwrap_err().contains("after"));
    }

    #[test]
    fn reads_item_times() {
        let props = json!({"datetime": "2020-05-01T00:00:00Z"});
        let instant = Interval::of_item(props.as_object().unwrap()).unwrap();
        assert_eq!(instant.start, instant.end);
        let props = json!({"datetime": null, "start_datetime": "2020-01-01T00:00:00Z",
            "end_datetime": "2020-12-31T00:00:00Z"});
        let range = Interval::of_item(props.as_object().unwrap()).unwrap();
        assert_eq!(range.end, at("2020-12-31T00:00:00Z"));
        assert_eq!(
            Interval::of_item(json!({"datetime": null}).as_object().unwrap()),
            None
        );
    }

    #[test]
    fn overlaps_with_open_ends() {
        let item = Interval::parse("2020-03-01T00:00:00Z/2020-04-01T00:00:00Z").unwrap();
        let overlap = |q: &str| item.overlaps(&Interval::parse(q).unwrap());
        assert!(overlap("../2020-03-01T00:00:00Z"));
        assert!(!overlap("../2020-02-28T00:00:00Z"));
        assert!(overlap("2020-04-01T00:00:00Z/.."));
        assert!(!overlap("2020-04-02T00:00:00Z/.."));
        assert!(overlap("2020-03-15T00:00:00Z"));
        assert!(overlap("../.."));
        assert!(!overlap("2019-01-01T00:00:00Z/2019-12-31T00:00:00Z"));
    }
}
