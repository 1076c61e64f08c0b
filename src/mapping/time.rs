//! Item times: parsing the spellings configs use and writing STAC `datetime` fields.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, SecondsFormat, Utc};
use serde_json::{Map, Value};

use super::field::Field;

/// Which end of a period a date-only value stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// A date means its first second (`00:00:00Z`).
    Start,
    /// A date means its last second (`23:59:59Z`).
    End,
}

/// When an Item was observed, as far as its artifact says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemTime {
    /// One instant: `datetime`.
    Instant(DateTime<Utc>),
    /// A period: `datetime: null` with `start_datetime` and `end_datetime`.
    Range(DateTime<Utc>, DateTime<Utc>),
    /// Nothing known. STAC 1.0 requires a time, so this is written as the open period
    /// `0001-01-01T00:00:00Z`..`9999-12-31T23:59:59Z` (true of any Item, matched by any
    /// temporal filter) and left out of the Collection's temporal extent.
    Unknown,
}

impl ItemTime {
    /// A range, rejecting `start > end` with the field named.
    pub fn range(
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        field: Field<'_>,
    ) -> Result<Self, String> {
        if start > end {
            return Err(format!(
                "{field}: start {} is after end {}",
                format_time(start),
                format_time(end)
            ));
        }
        Ok(if start == end {
            ItemTime::Instant(start)
        } else {
            ItemTime::Range(start, end)
        })
    }

    /// The period the Item covers, for the Collection's temporal extent.
    pub fn interval(&self) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        match *self {
            ItemTime::Instant(t) => Some((t, t)),
            ItemTime::Range(start, end) => Some((start, end)),
            ItemTime::Unknown => None,
        }
    }

    /// Writes `datetime` (and `start_datetime`/`end_datetime`) into Item properties.
    pub fn write(&self, properties: &mut Map<String, Value>) {
        let (datetime, period) = match *self {
            ItemTime::Instant(t) => (Value::String(format_time(t)), None),
            ItemTime::Range(start, end) => {
                (Value::Null, Some((format_time(start), format_time(end))))
            }
            ItemTime::Unknown => (
                Value::Null,
                Some((
                    "0001-01-01T00:00:00Z".to_owned(),
                    "9999-12-31T23:59:59Z".to_owned(),
                )),
            ),
        };
        properties.insert("datetime".to_owned(), datetime);
        match period {
            Some((start, end)) => {
                properties.insert("start_datetime".to_owned(), Value::String(start));
                properties.insert("end_datetime".to_owned(), Value::String(end));
            }
            None => {
                properties.remove("start_datetime");
                properties.remove("end_datetime");
            }
        }
    }
}

/// RFC 3339 in UTC with a `Z`, fractional seconds only when present.
pub fn format_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Parses an RFC 3339 date-time, a naive date-time (taken as UTC), an ISO date
/// (`2018-09-24`) or a `yyyymmdd` date as a string or an integer (`20181004`).
pub fn parse_time(value: &Value, bound: Bound, field: Field<'_>) -> Result<DateTime<Utc>, String> {
    let parsed = match value {
        Value::String(s) => parse_text(s.trim(), bound),
        Value::Number(n) => n
            .as_u64()
            .filter(|n| (10_000_101..=99_991_231).contains(n))
            .and_then(|n| parse_text(&n.to_string(), bound)),
        _ => None,
    };
    parsed.ok_or_else(|| {
        format!("{field}: {value} is not a date or date-time (ISO 8601 / RFC 3339 or yyyymmdd)")
    })
}

fn parse_text(s: &str, bound: Bound) -> Option<DateTime<Utc>> {
    // A date-time is longer than a date: most configs give dates, and each format tried
    // costs a parse of its pattern.
    if s.len() > 10 {
        if let Ok(t) = DateTime::parse_from_rfc3339(s) {
            return Some(t.with_timezone(&Utc));
        }
        for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
            if let Ok(t) = NaiveDateTime::parse_from_str(s, format) {
                return Some(t.and_utc());
            }
        }
    }
    let date = s.parse::<NaiveDate>().ok().or_else(|| {
        (s.len() == 8)
            .then(|| NaiveDate::parse_from_str(s, "%Y%m%d").ok())
            .flatten()
    })?;
    let time = match bound {
        Bound::Start => NaiveTime::MIN,
        Bound::End => NaiveTime::from_hms_opt(23, 59, 59)?,
    };
    Some(date.and_time(time).and_utc())
}

/// Reads the time of a STAC Item's properties, checking STAC 1.0's rule that a null
/// `datetime` needs `start_datetime` and `end_datetime`.
pub fn stac_item_time(
    properties: &Map<String, Value>,
    field: Field<'_>,
) -> Result<ItemTime, String> {
    let start = properties.get("start_datetime");
    let end = properties.get("end_datetime");
    match (properties.get("datetime"), start, end) {
        (Some(Value::Null) | None, Some(start), Some(end)) => ItemTime::range(
            parse_time(start, Bound::Start, field.member("start_datetime"))?,
            parse_time(end, Bound::End, field.member("end_datetime"))?,
            field,
        ),
        (Some(Value::Null) | None, _, _) => Err(format!(
            "{field}.datetime: missing or null without start_datetime and end_datetime"
        )),
        (Some(datetime), _, _) => {
            parse_time(datetime, Bound::Start, field.member("datetime")).map(ItemTime::Instant)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn text(value: Value, bound: Bound) -> String {
        format_time(parse_time(&value, bound, Field::Root("t")).unwrap())
    }

    #[test]
    fn parses_spellings() {
        assert_eq!(
            text(json!("2018-09-24"), Bound::Start),
            "2018-09-24T00:00:00Z"
        );
        assert_eq!(
            text(json!("2019-12-04"), Bound::End),
            "2019-12-04T23:59:59Z"
        );
        assert_eq!(text(json!(20181004), Bound::Start), "2018-10-04T00:00:00Z");
        assert_eq!(text(json!("20191204"), Bound::End), "2019-12-04T23:59:59Z");
        assert_eq!(
            text(json!("2020-01-02T03:04:05+01:00"), Bound::Start),
            "2020-01-02T02:04:05Z"
        );
        assert_eq!(
            text(json!("2020-01-02T03:04:05.5"), Bound::Start),
            "2020-01-02T03:04:05.500Z"
        );
        assert_eq!(
            text(json!("2020-01-02 03:04:05"), Bound::End),
            "2020-01-02T03:04:05Z"
        );
        assert_eq!(
            text(json!("2020-1-2"), Bound::Start),
            "2020-01-02T00:00:00Z"
        );
        for bad in [
            json!(20181341),
            json!(123),
            json!("soon"),
            json!("2020-13-01"),
            json!("2020-01-02T"),
            json!(null),
            json!([1]),
            json!(-1),
        ] {
            let err = parse_time(&bad, Bound::Start, Field::Root("patches[0].start")).unwrap_err();
            assert!(err.starts_with("patches[0].start:"), "{err}");
        }
    }

    #[test]
    fn writes_stac_fields() {
        let mut props = Map::new();
        ItemTime::Unknown.write(&mut props);
        assert_eq!(props["datetime"], Value::Null);
        assert_eq!(props["start_datetime"], "0001-01-01T00:00:00Z");
        let t = parse_time(&json!("2018-09-24"), Bound::Start, Field::Root("t")).unwrap();
        ItemTime::Instant(t).write(&mut props);
        assert_eq!(props["datetime"], "2018-09-24T00:00:00Z");
        assert!(!props.contains_key("start_datetime"));
        assert!(ItemTime::range(t, t - chrono::Duration::days(1), Field::Root("x")).is_err());
        assert_eq!(
            stac_item_time(&props, Field::Root("properties")).unwrap(),
            ItemTime::Instant(t)
        );
        let empty = Map::new();
        assert!(stac_item_time(&empty, Field::Root("properties")).is_err());
    }
}
