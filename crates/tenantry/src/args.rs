//! Parsers of command-line values that need more than `FromStr`: durations as people
//! write them, URLs, roles, `PATTERN=MS` pairs. Each error says what to write instead.

/// `500ms`, `30s`, `10m`, `1h 30m`, `2d` (humantime's units); a bare number is seconds.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s
            .parse::<u64>()
            .map(std::time::Duration::from_secs)
            .map_err(|e| format!("{s:?} is not a duration: {e}"));
    }
    humantime::parse_duration(s)
        .map_err(|e| format!("{s:?} is not a duration ({e}): write e.g. 90s, 10m, 1h 30m or 500ms"))
}

pub fn parse_public_url(s: &str) -> Result<tenantry_web::PublicUrl, String> {
    tenantry_web::PublicUrl::parse(s)
}

pub fn parse_role(s: &str) -> Result<tenantry_core::Role, String> {
    s.parse()
        .map_err(|e: tenantry_core::user::RoleError| e.to_string())
}

pub fn parse_slow_ready(s: &str) -> Result<(String, u64), String> {
    let (pattern, ms) = s
        .rsplit_once('=')
        .ok_or_else(|| format!("{s:?} is not PATTERN=MS, e.g. 'registry.test/slow*=5000'"))?;
    let ms = ms
        .parse()
        .map_err(|_| format!("{ms:?} is not a number of milliseconds"))?;
    Ok((pattern.to_owned(), ms))
}

/// `C42=Acme Ltd`: the organisation name of a client an adoption creates.
pub fn parse_org(s: &str) -> Result<(tenantry_core::ClientId, tenantry_core::OrgName), String> {
    let (id, name) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?} is not ID=NAME, e.g. --org 'C42=Acme Ltd'"))?;
    let id = tenantry_core::ClientId::parse(id).map_err(|e| e.to_string())?;
    let name = tenantry_core::OrgName::parse(name).map_err(|e| e.to_string())?;
    Ok((id, name))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1h 30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("2d"), Ok(Duration::from_secs(172_800)));
        assert_eq!(parse_duration(" 30 "), Ok(Duration::from_secs(30)));
        let e = parse_duration("10 parsecs").unwrap_err();
        assert!(e.contains("write e.g. 90s"), "{e}");
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn slow_ready_is_a_pattern_and_milliseconds() {
        assert_eq!(
            parse_slow_ready("registry.test/a=b*=5000"),
            Ok(("registry.test/a=b*".to_owned(), 5000))
        );
        assert!(parse_slow_ready("x").unwrap_err().contains("PATTERN=MS"));
    }
}
