//! Messages with values in them, built from typed domain problems in the reader's
//! language (the fixed phrases are in `i18n`).

use tenantry_core::template::OrderError;
use tenantry_core::template_check::{Found, TemplateProblem};
use tenantry_engine::PlanError;
use tenantry_store::StoreError;

use crate::i18n::Lang;

/// Where in a template a problem is: its path, or a JSON pointer into its body.
fn place(lang: Lang, at: &str) -> String {
    match (lang, at) {
        (Lang::En, "path") => "in the path".to_owned(),
        (Lang::Ru, "path") => "в пути".to_owned(),
        (Lang::En, _) => format!("in the body at {at}"),
        (Lang::Ru, _) => format!("в теле, {at}"),
    }
}

/// One problem of a template about to be saved, in `lang`.
pub fn template_problem(lang: Lang, p: &TemplateProblem) -> String {
    use TemplateProblem as P;
    match (lang, p) {
        (
            _,
            P::UnknownMacro {
                name,
                at,
                suggestion,
            },
        ) => {
            let place = place(lang, at);
            match (lang, suggestion) {
                (Lang::En, Some(s)) => {
                    format!("unknown macro {{{{{name}}}}} {place}: did you mean {{{{{s}}}}}?")
                }
                (Lang::Ru, Some(s)) => format!(
                    "неизвестный макрос {{{{{name}}}}} {place}: возможно, имелся в виду {{{{{s}}}}}?"
                ),
                (Lang::En, None) => format!(
                    "unknown macro {{{{{name}}}}} {place}: no parameter has this name; add the parameter first"
                ),
                (Lang::Ru, None) => format!(
                    "неизвестный макрос {{{{{name}}}}} {place}: параметра с таким именем нет; сначала добавьте параметр"
                ),
            }
        }
        (Lang::En, P::Order(e)) => e.to_string(),
        (Lang::Ru, P::Order(OrderError::UnknownDependency { template, missing })) => {
            format!("шаблон {template} должен идти после {missing}, но такого шаблона нет")
        }
        (Lang::Ru, P::Order(OrderError::Cycle(names))) => format!(
            "шаблоны ждут друг друга по кругу: {}",
            names
                .iter()
                .map(|n| n.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        (Lang::En, P::SecretInName { at, name }) => format!(
            "the secret {{{{{name}}}}} is used {}: secrets may not be part of a path, a name or a label, where anyone who sees the run could read them",
            place(lang, at)
        ),
        (Lang::Ru, P::SecretInName { at, name }) => format!(
            "секрет {{{{{name}}}}} используется {}: секреты нельзя вставлять в путь, имя или метку — их увидит каждый, кто видит запуск",
            place(lang, at)
        ),
        (Lang::En, P::NotAnObject { field }) => format!(
            "the body has no {field}: a request that creates or replaces an object must give it"
        ),
        (Lang::Ru, P::NotAnObject { field }) => format!(
            "в теле нет поля {field}: запрос, который создаёт или заменяет объект, должен его указать"
        ),
    }
}

/// A problem with the template it is in, in `lang`.
pub fn found(lang: Lang, f: &Found) -> String {
    let what = match lang {
        Lang::En => "template",
        Lang::Ru => "шаблон",
    };
    format!(
        "{what} {}: {}",
        f.template,
        template_problem(lang, &f.problem)
    )
}

/// A message in English, and in Russian when one is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Msg {
    pub en: String,
    pub ru: Option<String>,
}

impl Msg {
    pub fn both(en: impl Into<String>, ru: impl Into<String>) -> Self {
        Self {
            en: en.into(),
            ru: Some(ru.into()),
        }
    }

    pub fn in_lang(&self, lang: Lang) -> &str {
        match (lang, &self.ru) {
            (Lang::Ru, Some(ru)) => ru,
            _ => &self.en,
        }
    }
}

impl From<String> for Msg {
    fn from(en: String) -> Self {
        Self { en, ru: None }
    }
}

impl From<&str> for Msg {
    fn from(en: &str) -> Self {
        en.to_owned().into()
    }
}

impl std::fmt::Display for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.en)
    }
}

/// A catalog error in English as the web UI says it (no CLI commands in it).
pub fn store_error_en(e: &StoreError) -> String {
    use StoreError as S;
    match e {
        S::NamespaceExists(n) => format!("namespace {n} already exists; open it to change it"),
        S::EnvironmentsExist { client, namespaces } => format!(
            "client {client} still has an environment in {}; decommission it first (the danger zone on the client card)",
            namespaces.join(", ")
        ),
        other => other.to_string(),
    }
}

/// A catalog error in Russian, for the errors people meet in the UI.
pub fn store_error_ru(e: &StoreError) -> Option<String> {
    use StoreError as S;
    Some(match e {
        S::ClientNotFound(id) => format!("клиента {id} нет"),
        S::ContactNotFound { client, contact } => {
            format!("у клиента {client} нет контакта №{contact}")
        }
        S::ClientArchived(id) => format!("клиент {id} в архиве; восстановите его, чтобы изменить"),
        S::NamespaceNotFound(n) => format!("пространства «{n}» нет"),
        S::NamespaceExists(n) => format!("пространство {n} уже есть; откройте его, чтобы изменить"),
        S::ParamNotFound(n) => format!("параметра «{n}» нет"),
        S::ParamExists(n) => format!("параметр {n} уже есть"),
        S::ParamNotSettable { name, .. } => {
            format!("значение параметра {name} задаёт не оператор: его создаёт tenantry")
        }
        S::TemplateNotFound(n) => format!("шаблона «{n}» нет"),
        S::TemplateVersionNotFound { name, version } => {
            format!("у шаблона {name} нет версии {version}")
        }
        S::UserExists(n) => format!("пользователь {n} уже есть"),
        S::UserNotFound(n) => format!("пользователя «{n}» нет"),
        S::RunNotFound(n) => format!("запуска {n} нет"),
        S::EnvironmentsExist { client, namespaces } => format!(
            "у клиента {client} ещё есть окружение в {}; сначала выведите его из эксплуатации (опасная зона на карточке клиента)",
            namespaces.join(", ")
        ),
        S::RolloutNotFound(id) => format!("раскатки {id} нет"),
        S::RolloutOver { id, status } => format!(
            "раскатка {id} уже завершена ({}): её нельзя изменить",
            match *status {
                "succeeded" => "успешно",
                "halted" => "остановлена из-за ошибок",
                "aborted" => "прервана",
                other => other,
            }
        ),
        S::SecretsDiffer {
            client,
            namespace,
            names,
        } => format!(
            "в каталоге для {client} в {namespace} уже другие значения, чем в его объектах: {}; с ними работающее окружение потеряет доступ к своим базам и ключам. Сравните их и смените или удалите значения каталога",
            names.join(", ")
        ),
        S::SecretInName { template, .. } => format!(
            "шаблон {template} вставляет секрет в путь, имя или метку: там его увидит каждый, кто видит запуск"
        ),
        _ => return None,
    })
}

/// What serde_json says is wrong, in Russian when it is one of the usual mistakes.
fn json_problem_ru(p: &str) -> Option<String> {
    // `x` pairs become «x».
    let code = |s: &str| {
        let mut open = false;
        s.chars()
            .map(|c| match c {
                '`' => {
                    open = !open;
                    if open { '«' } else { '»' }
                }
                c => c,
            })
            .collect::<String>()
    };
    let ru = if let Some(rest) = p.strip_prefix("expected ") {
        format!("ожидалось {}", code(rest).replace(" or ", " или "))
    } else if let Some(rest) = p.strip_prefix("EOF while parsing ") {
        let what = match rest {
            "an object" => "объекта",
            "a list" => "списка",
            "a string" => "строки",
            "a value" => "значения",
            _ => return None,
        };
        format!("текст кончился посреди {what}")
    } else if p == "trailing comma" {
        "лишняя запятая".into()
    } else if p == "key must be a string" {
        "ключ должен быть строкой в кавычках".into()
    } else if p == "trailing characters" {
        "лишние символы после конца JSON".into()
    } else if let Some(rest) = p.strip_prefix("unknown field ") {
        format!("неизвестное поле {}", code(rest)).replace("expected one of", "ожидается одно из")
    } else if let Some(rest) = p.strip_prefix("missing field ") {
        format!("нет поля {}", code(rest))
    } else if let Some(rest) = p.strip_prefix("unknown variant ") {
        format!("неизвестное значение {}", code(rest))
            .replace("expected one of", "ожидается одно из")
    } else {
        return None;
    };
    Some(ru)
}

/// A macro that does not parse, in Russian.
pub fn macro_ru(e: &tenantry_core::macros::MacroSyntaxError) -> String {
    use tenantry_core::macros::MacroProblem as P;
    let what = match &e.problem {
        P::Unclosed => "«{{» не закрыт «}}»".to_owned(),
        P::BadName { inner } => format!(
            "{{{{{inner}}}}} не называет параметр: имена — строчные латинские буквы, цифры и дефисы, например {{{{client-id}}}}"
        ),
        P::UnknownFilter { filter, inner } => format!(
            "неизвестный фильтр «{filter}» в {{{{{inner}}}}}; есть фильтры: lower, upper, base64"
        ),
    };
    format!("макрос на символе {}: {what}", e.offset + 1)
}

fn invalid_ru(i: &tenantry_core::template::Invalid) -> String {
    use tenantry_core::template::Invalid as I;
    match i {
        I::PathNotRelative(p) => format!(
            "путь «{p}» должен быть относительным к корню API, например api/v1/namespaces/{{{{namespace-id}}}}/configmaps"
        ),
        I::PathMacro(e) => format!("путь: {}", macro_ru(e)),
        I::NeedsBody(m) => format!("запросу {m} нужно «body»"),
        I::TakesNoBody(m) => format!("у запроса {m} не бывает «body»"),
        I::BodyMacros(errors) => errors
            .iter()
            .map(|(at, e)| format!("тело, {at}: {}", macro_ru(e)))
            .collect::<Vec<_>>()
            .join("; "),
        I::EnvAt(at) => format!("«env_at»: {at:?} не указывает на объект в теле"),
        I::AfterItself(n) => format!("шаблон {n} не может идти после самого себя"),
    }
}

/// What is wrong with a template's text, in both languages.
pub fn template_error(e: &tenantry_core::template::TemplateError) -> Msg {
    use tenantry_core::template::TemplateError as T;
    match e {
        T::Json(j) => Msg {
            en: e.to_string(),
            ru: json_problem_ru(&j.problem)
                .map(|p| format!("строка {}, столбец {}: {p}", j.line, j.column)),
        },
        T::Invalid(i) => Msg::both(e.to_string(), invalid_ru(i)),
    }
}

fn label_ru(p: &tenantry_core::names::LabelProblem) -> String {
    use tenantry_core::names::LabelProblem as L;
    match p {
        L::Empty => "оно пустое".into(),
        L::TooLong(n) => format!("в нём {n} символов, а можно не больше 63"),
        L::Char(c) => {
            format!("в нём есть {c:?}; можно только строчные латинские буквы, цифры и «-»")
        }
        L::Dash => "оно должно начинаться и кончаться буквой или цифрой".into(),
    }
}

/// A namespace name that cannot be, in both languages.
pub fn namespace_name(e: &tenantry_core::namespace::NamespaceNameError) -> Msg {
    Msg::both(
        e.to_string(),
        format!(
            "имя пространства «{}» не подходит: {} (например, lms-dev)",
            e.input,
            label_ru(&e.problem)
        ),
    )
}

/// An API root URL that cannot be, in both languages.
pub fn api_url(e: &tenantry_core::namespace::ApiRootUrlError) -> Msg {
    use tenantry_core::namespace::UrlProblem as U;
    let ru = match &e.problem {
        U::NotAUrl(why) => format!("не является адресом ({why})"),
        U::Scheme => "должен начинаться с https:// (или http:// для тестового кластера)".into(),
        U::NoHost => "без имени хоста".into(),
        U::Credentials => {
            "не должен содержать пользователя или пароль: токен задаётся отдельно".into()
        }
        U::QueryOrFragment => "не должен содержать запрос (?…) или фрагмент (#…)".into(),
    };
    Msg::both(
        e.to_string(),
        format!(
            "адрес API «{}» {ru}; ожидается, например, https://rancher.example/k8s/clusters/c-m4hlh/",
            e.input
        ),
    )
}

/// A CA bundle that cannot be, in both languages (the PEM reader's own words kept).
pub fn ca_bundle(e: &tenantry_core::namespace::CaBundleError) -> Msg {
    use tenantry_core::namespace::CaProblem as P;
    let ru = match &e.problem {
        P::NotPem(why) => format!("не является PEM ({why})"),
        P::NoBlock => "не содержит ни одного блока PEM".to_owned(),
        P::NotCertificate(tag) => format!("содержит блок {tag:?}, а не сертификат"),
        P::Unreadable { number, detail } => {
            format!("содержит сертификат (номер {number}), который не читается ({detail})")
        }
    };
    Msg::both(
        e.to_string(),
        format!(
            "сертификат центра сертификации (CA) {ru}; ожидается один или несколько блоков PEM «-----BEGIN CERTIFICATE-----»"
        ),
    )
}

/// A user name that cannot be, in both languages.
pub fn user_name(e: &tenantry_core::user::UserNameError) -> Msg {
    use tenantry_core::user::UserNameProblem as P;
    let ru = match &e.problem {
        P::Empty => "оно пустое".to_owned(),
        P::TooLong => "оно длиннее 64 символов".to_owned(),
        P::Char(c) => format!("в нём есть {c:?}; можно буквы, цифры, «.», «_», «-» и «@»"),
    };
    Msg::both(
        e.to_string(),
        format!("имя пользователя «{}» не подходит: {ru}", e.given),
    )
}

/// A parameter name that cannot be, in both languages.
pub fn param_name(e: &tenantry_core::param::ParamNameError) -> Msg {
    Msg::both(
        e.to_string(),
        format!(
            "имя параметра «{}» не подходит: строчные латинские буквы, цифры и дефисы, например clickhouse-host",
            e.0
        ),
    )
}

/// A role that is none of the three, in both languages.
pub fn role(e: &tenantry_core::user::RoleError) -> Msg {
    Msg::both(
        e.to_string(),
        format!("роли «{}» нет; есть viewer, operator и admin", e.0),
    )
}

/// A token life that cannot be, in both languages.
pub fn token_days(given: &str, en: String) -> Msg {
    Msg::both(
        en,
        format!(
            "«{given}» — не срок жизни токена в днях от 1 до {}, например 90d",
            tenantry_core::user::TOKEN_DAYS_MAX
        ),
    )
}

/// An env var name that cannot be, in both languages.
pub fn env_name(e: &tenantry_core::env::EnvVarNameError) -> Msg {
    Msg::both(
        e.to_string(),
        format!(
            "имя переменной «{}» не подходит: латинские буквы, цифры и «_», не с цифры, например LMS_SERVER_PORT",
            e.0
        ),
    )
}

/// Why a password is refused, in both languages.
pub fn password(p: &tenantry_core::password::PasswordProblem) -> Msg {
    use tenantry_core::password::{MAX_LENGTH, MIN_LENGTH, PasswordProblem as P};
    let ru = match p {
        P::TooShort => format!("пароль короче {MIN_LENGTH} символов; выберите подлиннее"),
        P::TooLong => format!("пароль длиннее {MAX_LENGTH} символов; выберите покороче"),
        P::Common => {
            "это один из самых распространённых паролей; выберите такой, какого нет ни у кого"
                .to_owned()
        }
        P::TooFewDistinct => {
            "пароль повторяет несколько символов; используйте больше разных".to_owned()
        }
        P::ContainsContext(w) => format!(
            "пароль содержит «{w}»; не составляйте его из имени пользователя или названия продукта"
        ),
    };
    Msg::both(p.to_string(), ru)
}

/// A note of a template version: the ones tenantry writes said in `lang`, the ones
/// people wrote as they are.
pub fn history_note(lang: Lang, note: &str) -> String {
    match (lang, note.strip_prefix("restored version ")) {
        (Lang::Ru, Some(v)) => format!("восстановлена версия {v}"),
        _ => lang.t_any(note).to_owned(),
    }
}

/// Why a plan does not render, in both languages.
pub fn plan_error(p: &PlanError) -> Msg {
    match p {
        PlanError::Render {
            client,
            namespace,
            problems,
        } => Msg::both(
            format!(
                "the plan for {client} in {namespace} does not render, nothing was sent: {}; set the missing values on the namespace's page",
                problems.join("; ")
            ),
            format!(
                "план для {client} в {namespace} не собирается, ничего не отправлено: {}; задайте недостающие значения на странице пространства",
                problems.join("; ")
            ),
        ),
        PlanError::Order(e) => Msg::both(
            format!("the templates cannot be ordered: {e}"),
            format!("шаблоны нельзя упорядочить: {e}"),
        ),
        other => other.to_string().into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_bundle_that_is_not_one_is_refused_in_russian() {
        let key = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        let e = tenantry_core::CaBundle::parse(key).unwrap_err();
        assert_eq!(
            ca_bundle(&e).in_lang(Lang::Ru),
            "сертификат центра сертификации (CA) содержит блок \"PRIVATE KEY\", а не сертификат; ожидается один или несколько блоков PEM «-----BEGIN CERTIFICATE-----»"
        );
        assert!(
            ca_bundle(&e)
                .in_lang(Lang::En)
                .contains("not a certificate")
        );
        let e = tenantry_core::CaBundle::parse("hello").unwrap_err();
        assert!(
            ca_bundle(&e)
                .in_lang(Lang::Ru)
                .contains("ни одного блока PEM"),
            "{}",
            ca_bundle(&e).in_lang(Lang::Ru)
        );
    }

    #[test]
    fn names_and_passwords_are_refused_in_russian() {
        let e = tenantry_core::NamespaceName::parse("LMS_dev").unwrap_err();
        assert_eq!(
            namespace_name(&e).in_lang(Lang::Ru),
            "имя пространства «LMS_dev» не подходит: в нём есть 'L'; можно только строчные латинские буквы, цифры и «-» (например, lms-dev)"
        );
        let p = tenantry_core::password::check("1234567890", &["anna"]).unwrap_err();
        assert!(password(&p).in_lang(Lang::Ru).contains("распространённых"));
        let e = tenantry_core::UserName::parse("an na").unwrap_err();
        assert!(
            user_name(&e)
                .in_lang(Lang::Ru)
                .starts_with("имя пользователя «an na» не подходит")
        );
    }

    #[test]
    fn a_template_that_cannot_be_reads_in_russian() {
        let e = tenantry_core::template::Template::parse(
            r#"{"name": "x", "method": "POST", "path": "api/v1/{{namespace-id}}/configmaps", "body": {"a": "{{Client}}"}}"#,
        )
        .unwrap_err();
        assert_eq!(
            template_error(&e).in_lang(Lang::Ru),
            "тело, /a: макрос на символе 1: {{Client}} не называет параметр: имена — строчные латинские буквы, цифры и дефисы, например {{client-id}}"
        );
    }

    #[test]
    fn json_mistakes_read_in_russian() {
        let e = tenantry_core::template::Template::parse(
            "{\n  \"name\": \"a\"\n  \"method\": \"GET\"\n}",
        )
        .unwrap_err();
        let m = template_error(&e);
        assert_eq!(
            m.in_lang(Lang::Ru),
            "строка 3, столбец 3: ожидалось «,» или «}»"
        );
        assert!(
            m.in_lang(Lang::En)
                .starts_with("line 3, column 3: expected")
        );
    }

    #[test]
    fn a_typo_reads_naturally_in_both_languages() {
        let p = TemplateProblem::UnknownMacro {
            name: "service-tipe".into(),
            at: "/spec/type".into(),
            suggestion: Some("service-type".into()),
        };
        assert_eq!(
            template_problem(Lang::En, &p),
            "unknown macro {{service-tipe}} in the body at /spec/type: did you mean {{service-type}}?"
        );
        assert_eq!(
            template_problem(Lang::Ru, &p),
            "неизвестный макрос {{service-tipe}} в теле, /spec/type: возможно, имелся в виду {{service-type}}?"
        );
    }
}
