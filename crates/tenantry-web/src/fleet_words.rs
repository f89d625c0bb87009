//! The fleet's words and badges in the page's language: health, sync state, and the
//! health rules' reasons with tenantry's framing said in Russian.

use maud::{Markup, html};
use tenantry_core::fleet::SyncState;
use tenantry_core::health::EnvHealth;

use crate::i18n::Lang;

/// The health's word in the page's language.
pub fn health_word(lang: Lang, h: EnvHealth) -> &'static str {
    lang.t(match h {
        EnvHealth::Healthy => "Healthy",
        EnvHealth::Suspended => "Suspended",
        EnvHealth::Progressing => "Progressing",
        EnvHealth::Missing => "Missing",
        EnvHealth::Degraded => "Degraded",
        EnvHealth::Unknown => "Unknown",
    })
}

pub fn health_badge(lang: Lang, h: EnvHealth) -> Markup {
    let class = h.as_str().to_ascii_lowercase();
    html! { span class={"badge health " (class)} data-health=(class) { (health_word(lang, h)) } }
}

/// A reason the health rules gave, with tenantry's own framing said in Russian (the
/// cluster's words — object names, its reasons and messages — are kept).
pub fn reason_shown(lang: Lang, reason: &str) -> String {
    if lang == Lang::En {
        return reason.to_owned();
    }
    const FRAMES: &[(&str, &str)] = &[
        (
            "new version failing, previous version still serving",
            "новая версия не запускается, предыдущая ещё работает",
        ),
        (" is not in the cluster", " нет в кластере"),
        (" is scaled to 0", " масштабирован до 0"),
        (
            "nothing of the environment is in the cluster",
            "ничего из окружения нет в кластере",
        ),
        ("not deployed", "не развёрнуто"),
        (" available)", " доступно)"),
        (
            "waiting for a load balancer address",
            "ожидает адрес балансировщика",
        ),
        (
            "the controller has not seen the latest change",
            "контроллер ещё не увидел последнее изменение",
        ),
        (" ready, ", " готово, "),
        (" updated", " обновлено"),
        (": not complete yet", ": ещё не завершён"),
        (" pod(s), ", " под(ов), "),
        (", scaling to ", ", масштабируется до "),
        (": container ", ": контейнер "),
        (" waiting (", " ожидает ("),
        (": not ready (", ": не готов ("),
        ("restarted ", "перезапущен "),
        (
            " time(s), last exit code ",
            " раз(а), последний код выхода ",
        ),
    ];
    FRAMES
        .iter()
        .fold(reason.to_owned(), |s, (en, ru)| s.replace(en, ru))
}

pub fn sync_word(lang: Lang, s: SyncState) -> &'static str {
    lang.t(match s {
        SyncState::InSync => "in sync",
        SyncState::Drifted => "drifted",
        SyncState::Missing => "missing",
        SyncState::Extra => "extra",
    })
}

pub fn sync_badge(lang: Lang, s: SyncState) -> Markup {
    html! { span class={"badge sync " (s.as_str())} { (sync_word(lang, s)) } }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rules_framing_is_said_in_russian_and_the_clusters_words_kept() {
        let said = reason_shown(
            Lang::Ru,
            "new version failing, previous version still serving (1 available): Pod lms-dev/p: CrashLoopBackOff: container c1: restarted 4 time(s), last exit code 1",
        );
        assert_eq!(
            said,
            "новая версия не запускается, предыдущая ещё работает (1 доступно): Pod lms-dev/p: CrashLoopBackOff: контейнер c1: перезапущен 4 раз(а), последний код выхода 1"
        );
        assert_eq!(
            reason_shown(
                Lang::Ru,
                "Pod lms-dev/p: container c1 waiting (ContainerCreating)"
            ),
            "Pod lms-dev/p: контейнер c1 ожидает (ContainerCreating)"
        );
        assert_eq!(
            reason_shown(Lang::Ru, "Service lms-service-c1 is not in the cluster"),
            "Service lms-service-c1 нет в кластере"
        );
        assert_eq!(reason_shown(Lang::En, "as it is"), "as it is");
    }
}
