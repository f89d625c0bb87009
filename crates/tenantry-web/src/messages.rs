//! Messages with values in them, built from typed domain problems in the reader's
//! language (the fixed phrases are in `i18n`).

use tenantry_core::template::OrderError;
use tenantry_core::template_check::{Found, TemplateProblem};

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

#[cfg(test)]
mod tests {
    use super::*;

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
