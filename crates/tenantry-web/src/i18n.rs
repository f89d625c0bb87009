//! Russian and English. The English text is the key; `ru` gives its Russian.

use axum::http::HeaderMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Ru,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Ru => "ru",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "en" => Some(Self::En),
            "ru" => Some(Self::Ru),
            _ => None,
        }
    }

    /// The `lang` cookie if set, else the first of `Accept-Language` we speak, else English.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        if let Some(l) = crate::cookies::cookie(headers, "lang").and_then(|v| Self::parse(&v)) {
            return l;
        }
        let accept = headers
            .get("accept-language")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let mut best: Option<(f32, Self)> = None;
        for part in accept.split(',') {
            let mut it = part.split(';');
            let tag = it.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = it
                .find_map(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.parse::<f32>().ok())
                })
                .unwrap_or(1.0);
            let lang = match tag.split('-').next() {
                Some("ru") => Self::Ru,
                Some("en") => Self::En,
                _ => continue,
            };
            if best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, lang));
            }
        }
        best.map_or(Self::En, |(_, l)| l)
    }

    /// A text from data (an audit action, a stored word) in this language, when the
    /// catalogue has it; else as it is.
    pub fn t_any(self, text: &str) -> &str {
        match self {
            Self::En => text,
            Self::Ru => ru(text).unwrap_or(text),
        }
    }

    /// `text` in this language.
    pub fn t(self, text: &'static str) -> &'static str {
        match self {
            Self::En => text,
            Self::Ru => ru(text).unwrap_or(text),
        }
    }
}

/// Every phrase with its Russian. The English text is the key.
pub static PHRASES: std::sync::LazyLock<Vec<(&'static str, &'static str)>> =
    std::sync::LazyLock::new(|| {
        crate::phrases::BASE
            .iter()
            .chain(crate::phrases_day2::DAY2)
            .copied()
            .collect()
    });

fn ru(text: &str) -> Option<&'static str> {
    static MAP: std::sync::LazyLock<std::collections::HashMap<&'static str, &'static str>> =
        std::sync::LazyLock::new(|| PHRASES.iter().copied().collect());
    MAP.get(text).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_best_we_speak() {
        let mut h = HeaderMap::new();
        h.insert(
            "accept-language",
            "de-DE,ru;q=0.9,en;q=0.8".parse().unwrap(),
        );
        assert_eq!(Lang::from_headers(&h), Lang::Ru);
        h.insert("accept-language", "en-GB,ru;q=0.5".parse().unwrap());
        assert_eq!(Lang::from_headers(&h), Lang::En);
        h.insert("cookie", "a=b; lang=ru".parse().unwrap());
        assert_eq!(Lang::from_headers(&h), Lang::Ru);
        assert_eq!(Lang::from_headers(&HeaderMap::new()), Lang::En);
    }

    /// Every phrase a page asks for has its Russian.
    #[test]
    fn every_phrase_in_the_pages_is_translated() {
        let sources = [
            include_str!("clients.rs"),
            include_str!("card.rs"),
            include_str!("login_pages.rs"),
            include_str!("admin.rs"),
            include_str!("templates.rs"),
            include_str!("params.rs"),
            include_str!("runs.rs"),
            include_str!("html.rs"),
            include_str!("error.rs"),
            include_str!("lifecycle.rs"),
            include_str!("access.rs"),
            include_str!("adoption.rs"),
            include_str!("overrides.rs"),
            include_str!("rollouts.rs"),
            include_str!("webhooks.rs"),
        ];
        let mut missing = Vec::new();
        for src in sources {
            // `t("…")` calls, not `get("…")` and the like.
            let calls = src.match_indices("t(\"").filter(|(i, _)| {
                *i == 0 || !src[..*i].ends_with(|c: char| c.is_alphanumeric() || c == '_')
            });
            for (i, _) in calls {
                let part = &src[i + 3..];
                let Some(end) = part.find("\")") else {
                    continue;
                };
                let phrase = &part[..end];
                if ru(phrase).is_none() && !missing.contains(&phrase) {
                    missing.push(phrase);
                }
            }
        }
        assert!(missing.is_empty(), "no Russian for: {missing:?}");
    }

    #[test]
    fn each_phrase_is_in_the_catalogue_once() {
        let mut seen = std::collections::HashSet::new();
        let twice: Vec<&str> = PHRASES
            .iter()
            .map(|(en, _)| *en)
            .filter(|en| !seen.insert(*en))
            .collect();
        assert!(twice.is_empty(), "{twice:?}");
    }

    #[test]
    fn russian_falls_back_to_english() {
        assert_eq!(Lang::Ru.t("Clients"), "Клиенты");
        assert_eq!(Lang::Ru.t("no such phrase"), "no such phrase");
    }
}
