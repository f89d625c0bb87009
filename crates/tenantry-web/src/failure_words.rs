//! tenantry's own words in a failure the engine reported as text — the cluster out of
//! reach, a TLS or token problem, an object that vanished or is not ours, finalizers that
//! stay, a run that timed out or was taken over — said in Russian. The cluster's words
//! (names, addresses, its reasons and messages) are kept as they are.

use crate::i18n::Lang;

/// A sentence of the engine: when its `trigger` is in a text, its parts are replaced.
struct Frame {
    trigger: &'static str,
    parts: &'static [(&'static str, &'static str)],
}

const FRAMES: &[Frame] = &[
    Frame {
        trigger: "cannot reach the cluster API at ",
        parts: &[
            (
                "cannot reach the cluster API at ",
                "нет связи с API кластера по адресу ",
            ),
            (
                ". Check the address, and that this machine's IP is on the cluster owners' allow-list",
                ". Проверьте адрес и то, что IP-адрес этой машины есть в списке разрешённых у владельцев кластера",
            ),
        ],
    },
    Frame {
        trigger: "the TLS connection to ",
        parts: &[
            (
                "the TLS connection to ",
                "не удалось установить TLS-соединение с ",
            ),
            (" failed: ", ": "),
            (
                ". Check the namespace's CA bundle (`tenantry namespace edit NAME --ca-file PEM`)",
                ". Проверьте сертификат центра сертификации (CA) пространства имён (`tenantry namespace edit NAME --ca-file PEM`)",
            ),
        ],
    },
    Frame {
        trigger: " does not speak TLS (",
        parts: &[
            ("the server at ", "сервер по адресу "),
            (" does not speak TLS (", " не поддерживает TLS ("),
            (
                "). If it serves plain HTTP, write the API root URL with http://",
                "). Если он работает по обычному HTTP, укажите адрес API с http://",
            ),
        ],
    },
    Frame {
        trigger: "the cluster rejected the token (401 Unauthorized) at ",
        parts: &[
            (
                "the cluster rejected the token (401 Unauthorized) at ",
                "кластер отклонил токен (401 Unauthorized) по адресу ",
            ),
            (
                ". Set a valid one with `tenantry namespace edit NAME --token-stdin`",
                ". Задайте действующий: `tenantry namespace edit NAME --token-stdin`",
            ),
        ],
    },
    Frame {
        trigger: ". The Kubernetes namespace does not exist in the cluster",
        parts: &[(
            ". The Kubernetes namespace does not exist in the cluster: have the cluster's owners create it, or point the namespace target at one that exists (`tenantry namespace edit NAME --k8s-namespace NS`)",
            ". Пространства имён Kubernetes нет в кластере: попросите владельцев кластера создать его или укажите существующее (`tenantry namespace edit NAME --k8s-namespace NS`)",
        )],
    },
    Frame {
        trigger: " is no longer in the cluster: ",
        parts: &[(
            " is no longer in the cluster: it was deleted while it was awaited, or the API server lost its state. Run the operation again to create it",
            " больше нет в кластере: его удалили во время ожидания, или API-сервер потерял своё состояние. Запустите операцию снова, чтобы создать его",
        )],
    },
    Frame {
        trigger: ": the template waits for an object, but its body has no metadata.name",
        parts: &[(
            ": the template waits for an object, but its body has no metadata.name",
            ": шаблон ждёт объект, но в его теле нет metadata.name",
        )],
    },
    Frame {
        trigger: " already exists and is not tenantry's for ",
        parts: &[
            (
                " already exists and is not tenantry's for ",
                " уже существует и не принадлежит tenantry для ",
            ),
            (" (labels: ", " (метки: "),
            (
                "); it was left untouched. Remove it, or label it ",
                "); он оставлен как есть. Удалите его или поставьте ему метки ",
            ),
            (" to let tenantry manage it", ", чтобы им управлял tenantry"),
            (" and ", " и "),
        ],
    },
    Frame {
        trigger: " after it was deleted: its finalizers ",
        parts: &[
            (" is still there ", " всё ещё существует "),
            (
                " after it was deleted: its finalizers ",
                " после удаления: его финализаторы ",
            ),
            (
                " have not been removed. Whatever owns them has not finished; remove them by hand only if it never will",
                " не сняты. Тот, кто их поставил, ещё не закончил; снимайте их вручную, только если он не закончит никогда",
            ),
        ],
    },
    Frame {
        trigger: ": cannot tell whether it is gone",
        parts: &[(
            ": cannot tell whether it is gone",
            ": не удаётся понять, удалён ли он",
        )],
    },
    Frame {
        trigger: ": nothing to ",
        parts: &[
            (": nothing to scale", ": нечего масштабировать"),
            (": nothing to delete", ": нечего удалять"),
        ],
    },
    Frame {
        trigger: "stopped: another process took this run over",
        parts: &[(
            "stopped: another process took this run over (it was not heard from in time)",
            "остановлен: выполнение перехватил другой процесс (от этого вовремя не было вестей)",
        )],
    },
    Frame {
        trigger: "timed out after ",
        parts: &[
            ("timed out after ", "время ожидания истекло ("),
            ("; still pending: ", "); ещё не завершены: "),
            ("; the last error: ", "; последняя ошибка: "),
        ],
    },
    Frame {
        trigger: "its process (",
        parts: &[
            ("its process (", "его процесс ("),
            (") is gone", ") завершился"),
            (") was last heard from ", ") последний раз отзывался "),
            ("s ago", " с назад"),
            ("; resumed by a new run", "; продолжен новым выполнением"),
        ],
    },
    Frame {
        trigger: "the generated secrets could not be forgotten: ",
        parts: &[(
            "the generated secrets could not be forgotten: ",
            "сгенерированные секреты не удалось забыть: ",
        )],
    },
    Frame {
        trigger: "the catalog could not store the verdict of run ",
        parts: &[
            (
                "the catalog could not store the verdict of run ",
                "каталог не смог сохранить итог выполнения ",
            ),
            (" within ", " за "),
        ],
    },
];

/// A failure reported as text, in `lang`: tenantry's sentences said in Russian, the
/// cluster's words kept.
pub fn failure_shown(lang: Lang, text: &str) -> String {
    if lang == Lang::En {
        return text.to_owned();
    }
    FRAMES
        .iter()
        .filter(|f| text.contains(f.trigger))
        .fold(text.to_owned(), |s, f| {
            f.parts.iter().fold(s, |s, (en, ru)| s.replace(en, ru))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_problems_are_said_in_russian_with_the_address_kept() {
        let tls = "deployment: the TLS connection to https://10.0.0.1:6443 failed: invalid peer certificate: UnknownIssuer. Check the namespace's CA bundle (`tenantry namespace edit NAME --ca-file PEM`)";
        assert_eq!(
            failure_shown(Lang::Ru, tls),
            "deployment: не удалось установить TLS-соединение с https://10.0.0.1:6443: invalid peer certificate: UnknownIssuer. Проверьте сертификат центра сертификации (CA) пространства имён (`tenantry namespace edit NAME --ca-file PEM`)"
        );
        let down = "configmap: cannot reach the cluster API at https://k8s.test: connection refused. Check the address, and that this machine's IP is on the cluster owners' allow-list";
        let said = failure_shown(Lang::Ru, down);
        assert!(said.starts_with("configmap: нет связи с API кластера по адресу https://k8s.test: connection refused. Проверьте адрес"), "{said}");
        assert_eq!(failure_shown(Lang::En, down), down);
    }

    /// The sentences are the cluster client's own: when one of them changes, this fails
    /// rather than the page going back to English unseen.
    #[test]
    fn every_connection_error_the_client_gives_is_said_in_russian() {
        use tenantry_kube::KubeError;
        let (url, detail) = ("https://k8s.test".to_owned(), "boom".to_owned());
        for e in [
            KubeError::Unreachable {
                url: url.clone(),
                detail: detail.clone(),
            },
            KubeError::Tls {
                url: url.clone(),
                detail: detail.clone(),
            },
            KubeError::NotTls {
                url: url.clone(),
                detail: detail.clone(),
            },
            KubeError::Unauthorized { url: url.clone() },
        ] {
            let said = failure_shown(Lang::Ru, &e.to_string());
            let english = [
                "cannot",
                "Check",
                "the server at",
                "speak",
                "rejected",
                "Set a valid",
                "If it",
            ];
            assert!(!english.iter().any(|w| said.contains(w)), "{said}");
            assert!(said.contains(&url), "{said}");
        }
    }

    #[test]
    fn an_object_not_ours_keeps_its_name_and_labels() {
        let text = "ConfigMap lms-dev/lms-config-c1 already exists and is not tenantry's for C1 (labels: {\"owner\":\"alice\"}); it was left untouched. Remove it, or label it app.kubernetes.io/managed-by=tenantry and tenantry.io/client=C1 to let tenantry manage it";
        assert_eq!(
            failure_shown(Lang::Ru, text),
            "ConfigMap lms-dev/lms-config-c1 уже существует и не принадлежит tenantry для C1 (метки: {\"owner\":\"alice\"}); он оставлен как есть. Удалите его или поставьте ему метки app.kubernetes.io/managed-by=tenantry и tenantry.io/client=C1, чтобы им управлял tenantry"
        );
    }

    #[test]
    fn a_sentence_is_only_touched_when_its_own_words_are_there() {
        // " and " is part of the not-ours sentence only; elsewhere it stays.
        let text = "Job lms-dev/x: BackoffLimitExceeded: failed and gave up";
        assert_eq!(failure_shown(Lang::Ru, text), text);
        let timeout = "timed out after 5m; still pending: deployment; the last error: GET /x: 503";
        assert_eq!(
            failure_shown(Lang::Ru, timeout),
            "время ожидания истекло (5m); ещё не завершены: deployment; последняя ошибка: GET /x: 503"
        );
    }
}
