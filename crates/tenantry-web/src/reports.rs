//! What a run's steps and its failure say, in the page's language: from the typed parts
//! the engine records (`Said`, `Explained`), the cluster's own words kept as they are.

use tenantry_engine::{Applied, Explained, Recreate, Said, Waited};

use crate::failure_words::failure_shown;
use crate::i18n::Lang;

/// Seconds with one decimal, as `lang` writes them.
fn secs(lang: Lang, s: f64) -> String {
    match lang {
        Lang::En => format!("{s:.1}s"),
        Lang::Ru => format!("{s:.1} с").replace('.', ","),
    }
}

fn applied(lang: Lang, a: &Applied) -> String {
    if lang == Lang::En {
        return a.to_string();
    }
    match a {
        Applied::Created => "создан".into(),
        Applied::Unchanged => "без изменений".into(),
        Applied::Updated(fields) if !fields.is_empty() => {
            let mut shown: Vec<&str> = fields.iter().take(3).map(String::as_str).collect();
            if fields.len() > 3 {
                shown.push("…");
            }
            format!("обновлён ({})", shown.join(", "))
        }
        Applied::Updated(_) => "обновлён".into(),
        Applied::Recreated(Recreate::Changed) => "пересоздан (изменился)".into(),
        Applied::Recreated(Recreate::PreviousFailed) => {
            "пересоздан (предыдущий завершился ошибкой)".into()
        }
        Applied::Read => "прочитан".into(),
        Applied::Sent => "отправлен".into(),
        Applied::Scaled(from, to) => format!("реплик было {from}, стало {to}"),
        Applied::Deleted => "удалён".into(),
        Applied::AlreadyGone => "уже удалён".into(),
        Applied::LeftAlone(labels) => {
            format!("не тронут: не принадлежит tenantry (метки: {labels})")
        }
    }
}

fn waited(lang: Lang, w: &Waited) -> String {
    if lang == Lang::En {
        return w.to_string();
    }
    match w {
        Waited::JobComplete { secs: s } => format!("Job выполнен за {}", secs(lang, *s)),
        Waited::RolledOut { secs: s } => format!("развёрнут за {}", secs(lang, *s)),
        Waited::ScaledReady { pods, secs: s } => {
            format!("подов готово: {pods}, за {}", secs(lang, *s))
        }
        Waited::Gone { secs: s } => format!("удалён за {}", secs(lang, *s)),
        Waited::PodsReady { pods } => format!("подов запущено и готово: {pods}"),
    }
}

/// A failed object explained, framed in `lang` (what the cluster said stays as it is).
pub fn explained(lang: Lang, e: &Explained) -> String {
    if lang == Lang::En {
        return e.to_string();
    }
    let mut out = format!("{}: {}", e.object, e.reason);
    if !e.message.is_empty() {
        out.push_str(&format!(": {}", e.message));
    }
    out.push_str(&format!(" (через {})", secs(lang, e.after_secs)));
    if let Some(log) = &e.log_tail {
        out.push_str(&format!("\nпоследние строки лога:\n{log}"));
    }
    if !e.warnings.is_empty() {
        out.push_str("\nсобытия:");
        for (r, m) in &e.warnings {
            out.push_str(&format!("\n  {r}: {m}"));
        }
    }
    out
}

/// A run's reason in `lang`: the failed step's typed explanation when the reason is
/// what that step said, else as recorded.
pub fn run_reason(lang: Lang, reason: &str, steps: &[serde_json::Value]) -> String {
    for s in steps {
        if let Ok(said) = serde_json::from_value::<Vec<Said>>(s["said"].clone()) {
            for p in &said {
                if let Said::Failed {
                    reason: r,
                    explained: Some(e),
                } = p
                    && reason.contains(r.as_str())
                {
                    return reason.replace(r.as_str(), &explained(lang, e));
                }
            }
        }
    }
    failure_shown(lang, reason)
}

/// What a step reports, in `lang`.
pub fn step(lang: Lang, said: &[Said]) -> String {
    said.iter()
        .map(|p| match (lang, p) {
            (Lang::En, p) => p.to_string(),
            (_, Said::Applied(a)) => applied(lang, a),
            (_, Said::Waiting) => "ожидание".into(),
            (_, Said::Waited(w)) => waited(lang, w),
            (_, Said::NotRun) => "не запускался: предыдущий шаг завершился ошибкой".into(),
            (_, Said::Stopped) => "остановлен: другой шаг завершился ошибкой".into(),
            (
                _,
                Said::Failed {
                    explained: Some(e), ..
                },
            ) => explained(lang, e),
            (_, Said::Failed { reason, .. }) => failure_shown(lang, reason),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A step of a stored report (JSON) in `lang`: its typed parts when it has them, else
/// its detail as recorded.
pub fn step_of_report(lang: Lang, s: &serde_json::Value) -> String {
    match serde_json::from_value::<Vec<Said>>(s["said"].clone()) {
        Ok(said) if !said.is_empty() => step(lang, &said),
        _ => s["detail"].as_str().unwrap_or("").to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_is_framed_in_russian_and_the_cluster_s_words_kept() {
        let e = Explained {
            object: "Pod lms-dev/lms-c1-abc".into(),
            reason: "ImagePullBackOff".into(),
            message: "Back-off pulling image \"x:1\"".into(),
            after_secs: 2.5,
            log_tail: None,
            warnings: vec![("Failed".into(), "Failed to pull image".into())],
        };
        let said = [Said::Failed {
            reason: e.to_string(),
            explained: Some(e.clone()),
        }];
        assert_eq!(
            step(Lang::Ru, &said),
            "Pod lms-dev/lms-c1-abc: ImagePullBackOff: Back-off pulling image \"x:1\" (через 2,5 с)\nсобытия:\n  Failed: Failed to pull image"
        );
        let steps = [serde_json::json!({ "said": said })];
        let reason = format!("deployment: {e}");
        assert!(
            run_reason(Lang::Ru, &reason, &steps).starts_with("deployment: Pod lms-dev/lms-c1-abc")
        );
        assert!(run_reason(Lang::Ru, &reason, &steps).contains("(через 2,5 с)"));
        assert_eq!(run_reason(Lang::En, &reason, &steps), reason);
    }

    #[test]
    fn a_step_says_what_happened_in_russian() {
        let said = [
            Said::Applied(Applied::Created),
            Said::Waited(Waited::JobComplete { secs: 3.24 }),
        ];
        assert_eq!(step(Lang::En, &said), "created, Job complete in 3.2s");
        assert_eq!(step(Lang::Ru, &said), "создан, Job выполнен за 3,2 с");
        assert_eq!(
            step(Lang::Ru, &[Said::NotRun]),
            "не запускался: предыдущий шаг завершился ошибкой"
        );
        let stored = serde_json::json!({ "detail": "x", "said": said });
        assert_eq!(
            step_of_report(Lang::Ru, &stored),
            "создан, Job выполнен за 3,2 с"
        );
        assert_eq!(
            step_of_report(Lang::Ru, &serde_json::json!({ "detail": "old" })),
            "old"
        );
    }
}
