//! Cron schedules as the CronJob controller reads them: five fields (minute, hour, day
//! of month, month, day of week) of `*`, numbers, ranges `a-b`, lists `a,b` and steps
//! `*/n` or `a-b/n`, names of months and days, or `@hourly`, `@daily` (`@midnight`),
//! `@weekly`, `@monthly`, `@yearly` (`@annually`). When both days are restricted, a
//! minute matches if either does, as cron has it. Times are UTC.

/// A parsed schedule: for each field, which values it allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    minute: Vec<bool>,
    hour: Vec<bool>,
    dom: Vec<bool>,
    month: Vec<bool>,
    dow: Vec<bool>,
    dom_any: bool,
    dow_any: bool,
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// One field: the values allowed in `lo..=hi`, or why it cannot be read.
fn field(
    text: &str,
    lo: u32,
    hi: u32,
    names: &[&str],
    first_name: u32,
) -> Result<Vec<bool>, String> {
    let value = |s: &str| -> Result<u32, String> {
        let lower = s.to_ascii_lowercase();
        if let Some(i) = names.iter().position(|n| *n == lower) {
            return Ok(first_name + u32::try_from(i).unwrap_or(0));
        }
        s.parse::<u32>()
            .map_err(|_| format!("{s:?} is not a number"))
    };
    let mut allowed = vec![false; usize::try_from(hi + 1).unwrap_or(0)];
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (
                r,
                s.parse::<u32>()
                    .ok()
                    .filter(|s| *s > 0)
                    .ok_or_else(|| format!("step {s:?} is not a positive number"))?,
            ),
            None => (part, 1),
        };
        let (from, to) = match range {
            "*" | "?" => (lo, hi),
            r => match r.split_once('-') {
                Some((a, b)) => (value(a)?, value(b)?),
                None if step > 1 => (value(r)?, hi),
                None => {
                    let v = value(r)?;
                    (v, v)
                }
            },
        };
        // Sunday may be 7 as well as 0.
        let max = if hi == 6 { 7 } else { hi };
        if from < lo || to > max || from > to {
            return Err(format!("{range:?} is outside {lo}-{hi}"));
        }
        let mut v = from;
        while v <= to {
            let i = if hi == 6 { v % 7 } else { v };
            allowed[usize::try_from(i).unwrap_or(0)] = true;
            v += step;
        }
    }
    Ok(allowed)
}

impl Schedule {
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let expanded = match text {
            "@yearly" | "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@daily" | "@midnight" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            t if t.starts_with('@') => return Err(format!("unknown schedule {t:?}")),
            t => t,
        };
        let parts: Vec<&str> = expanded.split_whitespace().collect();
        let [minute, hour, dom, month, dow] = parts[..] else {
            return Err(format!(
                "expected exactly 5 fields, found {}: {text:?}",
                parts.len()
            ));
        };
        Ok(Self {
            minute: field(minute, 0, 59, &[], 0)?,
            hour: field(hour, 0, 23, &[], 0)?,
            dom: field(dom, 1, 31, &[], 0)?,
            month: field(month, 1, 12, &MONTHS, 1)?,
            dow: field(dow, 0, 6, &DAYS, 0)?,
            dom_any: dom == "*" || dom == "?",
            dow_any: dow == "*" || dow == "?",
        })
    }

    /// Whether the minute starting at `unix_minute` (minutes since 1970, UTC) is one.
    pub fn matches(&self, unix_minute: i64) -> bool {
        let Ok(t) = time::OffsetDateTime::from_unix_timestamp(unix_minute * 60) else {
            return false;
        };
        let at = |v: &[bool], i: u8| v.get(usize::from(i)).copied().unwrap_or(false);
        let dom = at(&self.dom, t.day());
        let dow = at(&self.dow, t.weekday().number_days_from_sunday());
        let day = match (self.dom_any, self.dow_any) {
            (true, true) => true,
            (false, true) => dom,
            (true, false) => dow,
            (false, false) => dom || dow,
        };
        at(&self.minute, t.minute())
            && at(&self.hour, t.hour())
            && at(&self.month, u8::from(t.month()))
            && day
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Minutes since 1970 of a UTC date and time.
    fn minute(y: i32, mo: u8, d: u8, h: u8, mi: u8) -> i64 {
        let date =
            time::Date::from_calendar_date(y, time::Month::try_from(mo).unwrap(), d).unwrap();
        date.with_hms(h, mi, 0)
            .unwrap()
            .assume_utc()
            .unix_timestamp()
            / 60
    }

    #[test]
    fn fields_ranges_steps_lists_and_names() {
        let s = Schedule::parse("*/15 9-17 * * mon-fri").unwrap();
        // Monday 30 November 2026.
        assert!(s.matches(minute(2026, 11, 30, 9, 0)));
        assert!(s.matches(minute(2026, 11, 30, 17, 45)));
        assert!(!s.matches(minute(2026, 11, 30, 9, 10)));
        assert!(!s.matches(minute(2026, 11, 30, 18, 0)));
        assert!(!s.matches(minute(2026, 11, 29, 10, 0)), "a Sunday");
        let s = Schedule::parse("0 0 1,15 jan,jul *").unwrap();
        assert!(s.matches(minute(2026, 7, 15, 0, 0)));
        assert!(!s.matches(minute(2026, 8, 15, 0, 0)));
    }

    #[test]
    fn both_days_restricted_match_either_and_sunday_may_be_seven() {
        let s = Schedule::parse("30 4 1 * 0").unwrap();
        assert!(s.matches(minute(2026, 12, 1, 4, 30)), "the 1st, a Tuesday");
        assert!(s.matches(minute(2026, 11, 29, 4, 30)), "a Sunday");
        assert!(!s.matches(minute(2026, 11, 30, 4, 30)));
        let s = Schedule::parse("0 0 * * 7").unwrap();
        assert!(s.matches(minute(2026, 11, 29, 0, 0)));
    }

    #[test]
    fn macros_and_what_cannot_be_read() {
        let hourly = Schedule::parse("@hourly").unwrap();
        assert!(hourly.matches(minute(2026, 11, 30, 13, 0)));
        assert!(!hourly.matches(minute(2026, 11, 30, 13, 1)));
        assert!(
            Schedule::parse("@daily")
                .unwrap()
                .matches(minute(2026, 1, 2, 0, 0))
        );
        for bad in [
            "every minute",
            "* * * *",
            "61 * * * *",
            "*/0 * * * *",
            "@sometimes",
        ] {
            assert!(Schedule::parse(bad).is_err(), "{bad}");
        }
    }
}
