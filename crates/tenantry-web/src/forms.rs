//! What was wrong with a form, for the person who filled it in: the field as the form
//! labels it ("Contact person 2, e-mail 1", not `contacts[1].emails[0]`), the problem in
//! the page's language, and where on the form to show it. Also how text boxes of
//! phones and e-mails are split into items.

use std::fmt;

use tenantry_core::client::OrgNameError;
use tenantry_core::contact::{
    ContactNameError, EmailError, EmailProblem, PhoneError, PhoneProblem,
};
use tenantry_core::limits::LimitError;

use crate::i18n::Lang;

/// A value a form or an API body gave that the domain refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputProblem {
    Phone(PhoneError),
    Email(EmailError),
    ContactName(ContactNameError),
    OrgName(OrgNameError),
    Limit(LimitError),
}

impl fmt::Display for InputProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Phone(e) => write!(f, "{e}"),
            Self::Email(e) => write!(f, "{e}"),
            Self::ContactName(e) => write!(f, "{e}"),
            Self::OrgName(e) => write!(f, "{e}"),
            Self::Limit(e) => write!(f, "{e}"),
        }
    }
}

/// Where a field path (`contacts[1].emails[0]`, `contact.name`, `phones[2]`) is on a form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// The contact block (0-based), for contact fields.
    pub block: Option<usize>,
    /// The form input's name (`contact_emails`, `organisation`, …).
    pub input: &'static str,
    /// Which item of a list input (0-based).
    pub item: Option<usize>,
}

fn index(s: &str) -> (&str, Option<usize>) {
    match s.split_once('[') {
        Some((name, rest)) => (name, rest.trim_end_matches(']').parse().ok()),
        None => (s, None),
    }
}

pub fn place_of(path: &str) -> Place {
    let (block, rest) = match path.split_once('.') {
        Some((head, rest)) if head.starts_with("contact") => {
            (Some(index(head).1.unwrap_or(0)), rest)
        }
        _ => (None, path),
    };
    let (name, item) = index(rest);
    let input = match (block.is_some(), name) {
        (true, "name") => "contact_name",
        (true, "role") => "contact_role",
        (true, "note") => "contact_note",
        (true, "phones") => "contact_phones",
        (true, "emails") => "contact_emails",
        (_, "phones") => "phones",
        (_, "emails") => "emails",
        (_, "contacts") => "contacts",
        (_, "organisation") => "organisation",
        // A field of another form: named by its message alone.
        _ => "",
    };
    Place { block, input, item }
}

/// The field as a person reads it.
pub fn label(lang: Lang, place: &Place, numbered_blocks: bool) -> String {
    let ru = lang == Lang::Ru;
    let field = match place.input {
        "contact_name" => {
            if ru {
                "имя"
            } else {
                "name"
            }
        }
        "contact_role" => {
            if ru {
                "должность"
            } else {
                "position"
            }
        }
        "contact_note" => {
            if ru {
                "заметка"
            } else {
                "note"
            }
        }
        "contact_phones" | "phones" => {
            if ru {
                "телефон"
            } else {
                "phone"
            }
        }
        "contact_emails" | "emails" => "e-mail",
        "contacts" => {
            if ru {
                "контактные лица"
            } else {
                "contact persons"
            }
        }
        _ => {
            if ru {
                "организация"
            } else {
                "organisation"
            }
        }
    };
    let field = match place.item {
        Some(i) => format!("{field} {}", i + 1),
        None => field.to_owned(),
    };
    match place.block {
        Some(b) if numbered_blocks => {
            let who = if ru {
                "Контактное лицо"
            } else {
                "Contact person"
            };
            format!("{who} {}, {field}", b + 1)
        }
        Some(_) => {
            let who = if ru {
                "Контактное лицо"
            } else {
                "Contact person"
            };
            format!("{who}, {field}")
        }
        None => {
            let mut c = field.chars();
            c.next()
                .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                .unwrap_or_default()
        }
    }
}

fn phone_problem(lang: Lang, p: PhoneProblem) -> &'static str {
    match lang {
        Lang::En => p.text(),
        Lang::Ru => match p {
            PhoneProblem::Empty => "пустой",
            PhoneProblem::Letters => "содержит буквы",
            PhoneProblem::OtherCharacters => {
                "содержит знаки, кроме цифр, пробелов, «+», «-», «(», «)» и «.»"
            }
            PhoneProblem::TooFewDigits => "слишком короткий",
            PhoneProblem::TooManyDigits => "длиннее 15 цифр",
            PhoneProblem::NotANumber => "не похож на номер телефона",
            PhoneProblem::NotValidForCountry => "не существует в своей стране",
            PhoneProblem::BadExtension => "с добавочным номером не из 1–6 цифр",
        },
    }
}

fn email_problem(lang: Lang, p: &EmailProblem) -> String {
    match lang {
        Lang::En => p.to_string(),
        Lang::Ru => match p {
            EmailProblem::Empty => "пустой".into(),
            EmailProblem::Spaces => "содержит пробелы".into(),
            EmailProblem::Comma => {
                "содержит запятую (несколько адресов пишите по одному в строке)".into()
            }
            EmailProblem::NoAt => "без «@»".into(),
            EmailProblem::NothingBeforeAt => "пуст до «@»".into(),
            EmailProblem::NoDomain => "без домена после «@» (вида example.ru)".into(),
            EmailProblem::HyphenInDomain => {
                "с частью домена, которая начинается или кончается на «-»".into()
            }
            EmailProblem::Invalid(e) => format!("некорректен ({e})"),
        },
    }
}

/// The problem alone, in `lang`.
pub fn problem(lang: Lang, p: &InputProblem) -> String {
    match (lang, p) {
        (Lang::En, InputProblem::Limit(l)) => limit_en(l),
        (Lang::En, _) => p.to_string(),
        (Lang::Ru, InputProblem::Phone(e)) => format!(
            "номер «{}» {}; пишите с кодом страны, например +7 495 123-45-67 (добавочный — после номера: доб. 12)",
            e.input.trim(),
            phone_problem(lang, e.problem)
        ),
        (Lang::Ru, InputProblem::Email(e)) => format!(
            "адрес «{}» {}; ожидается адрес вида ivanov@example.ru",
            e.input.trim(),
            email_problem(lang, &e.problem)
        ),
        (Lang::Ru, InputProblem::ContactName(ContactNameError::Empty)) => {
            "имя не заполнено: укажите, например, Иванова Мария".into()
        }
        (Lang::Ru, InputProblem::ContactName(ContactNameError::TooLong(n))) => {
            format!("имя длиной {n} символов; можно не больше 200")
        }
        (Lang::Ru, InputProblem::OrgName(OrgNameError::Empty)) => {
            "название не заполнено: укажите, например, ООО Ромашка".into()
        }
        (Lang::Ru, InputProblem::OrgName(OrgNameError::TooLong(n))) => format!(
            "название длиной {n} символов; можно не больше {}",
            tenantry_core::client::ORG_NAME_MAX_CHARS
        ),
        (Lang::Ru, InputProblem::OrgName(OrgNameError::Nul)) => {
            "название содержит нулевой символ".into()
        }
        (Lang::Ru, InputProblem::Limit(l)) => limit_ru(l),
    }
}

fn limit_en(l: &LimitError) -> String {
    match l {
        LimitError::Chars { len, max, .. } => format!("at most {max} characters (now {len})"),
        LimitError::Bytes { len, max, .. } => format!("at most {max} bytes (now {len})"),
        LimitError::Items { len, max, .. } => format!("at most {max} entries (now {len})"),
    }
}

fn limit_ru(l: &LimitError) -> String {
    match l {
        LimitError::Chars { len, max, .. } => {
            format!("не длиннее {max} символов (сейчас {len})")
        }
        LimitError::Bytes { len, max, .. } => format!("не больше {max} байт (сейчас {len})"),
        LimitError::Items { len, max, .. } => format!("не больше {max} (сейчас {len})"),
    }
}

/// The whole message: the field as labelled, then the problem.
pub fn message(lang: Lang, path: &str, p: &InputProblem) -> String {
    format!(
        "{}: {}",
        label(lang, &place_of(path), path.starts_with("contacts[")),
        problem(lang, p)
    )
}

/// A text box of phones: one per line, or separated by `;` or `,`; an extension
/// written after a comma (`+7 495 123-45-67, доб. 12`) stays with its number.
pub fn split_phones(s: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for piece in s
        .split(['\n', ';', ','])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let starts_ext = {
            let l = piece.to_lowercase();
            ["доб", "ext", "x", "#"].iter().any(|m| l.starts_with(m))
        };
        match out.last_mut() {
            Some(prev) if starts_ext => {
                prev.push(' ');
                prev.push_str(piece);
            }
            _ => out.push(piece.to_owned()),
        }
    }
    out
}

/// A text box of e-mails: one per line, or separated by `;`, spaces, or commas between
/// whole addresses. A comma inside what is not two addresses stays, so the address is
/// refused naming the comma instead of being cut in two.
pub fn split_emails(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    for piece in s
        .split(|c: char| c == '\n' || c == ';' || c.is_whitespace())
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let parts: Vec<&str> = piece
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect();
        if parts.len() > 1 && parts.iter().all(|p| p.contains('@')) {
            out.extend(parts.into_iter().map(str::to_owned));
        } else if !piece.trim_matches(',').is_empty() {
            out.push(piece.trim_matches(',').to_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_become_what_the_form_says() {
        let p = place_of("contacts[1].emails[0]");
        assert_eq!(
            p,
            Place {
                block: Some(1),
                input: "contact_emails",
                item: Some(0)
            }
        );
        assert_eq!(label(Lang::En, &p, true), "Contact person 2, e-mail 1");
        assert_eq!(label(Lang::Ru, &p, true), "Контактное лицо 2, e-mail 1");
        assert_eq!(
            label(Lang::En, &place_of("contact.name"), false),
            "Contact person, name"
        );
        assert_eq!(label(Lang::Ru, &place_of("phones[2]"), false), "Телефон 3");
        assert_eq!(
            label(Lang::En, &place_of("organisation"), false),
            "Organisation"
        );
    }

    #[test]
    fn problems_read_in_russian_without_flags_or_paths() {
        let e = tenantry_core::Email::parse("ivan,ov@example.ru").unwrap_err();
        let m = message(Lang::Ru, "contacts[0].emails[0]", &InputProblem::Email(e));
        assert_eq!(
            m,
            "Контактное лицо 1, e-mail 1: адрес «ivan,ov@example.ru» содержит запятую (несколько адресов пишите по одному в строке); ожидается адрес вида ivanov@example.ru"
        );
        let e = tenantry_core::ContactName::parse(" ").unwrap_err();
        let m = message(Lang::En, "contact.name", &InputProblem::ContactName(e));
        assert!(!m.contains("--"), "{m}");
    }

    #[test]
    fn lists_split_between_items_not_inside_them() {
        assert_eq!(
            split_phones("+7 495 123-45-67, доб. 12\n8 916 555 12 34; +7 812 000-00-00"),
            [
                "+7 495 123-45-67 доб. 12",
                "8 916 555 12 34",
                "+7 812 000-00-00"
            ]
        );
        assert_eq!(
            split_emails("a@x.ru, b@y.ru\nc@z.ru; d@w.ru e@v.ru"),
            ["a@x.ru", "b@y.ru", "c@z.ru", "d@w.ru", "e@v.ru"]
        );
        assert_eq!(split_emails("ivan,ov@example.ru"), ["ivan,ov@example.ru"]);
    }
}
