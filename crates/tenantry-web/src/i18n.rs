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
pub const PHRASES: &[(&str, &str)] = &[
    // The fleet.
    (
        "Self-heal: correct drift by a deploy (at most once per 5 minutes per environment, audited)",
        "Самовосстановление: устранять расхождения развёртыванием (не чаще раза в 5 минут на окружение, с записью в журнал аудита)",
    ),
    ("Self-heal", "Самовосстановление"),
    ("on", "вкл."),
    ("off", "выкл."),
    ("All", "Все"),
    (
        "Compared with the last revision, on the fields tenantry sets; secrets masked.",
        "Сравнение с последней ревизией по полям, которые задаёт tenantry; секреты скрыты.",
    ),
    ("Degraded", "Неисправно"),
    ("Drift", "Расхождения"),
    ("Drifted", "С расхождениями"),
    ("Events", "События"),
    ("Field", "Поле"),
    ("Filter", "Отобрать"),
    ("Fleet", "Парк окружений"),
    ("Health", "Состояние"),
    ("Healthy", "Исправно"),
    (
        "Labelled as this client's but not rendered: a sync leaves it; delete it or remove the label.",
        "Помечен как объект этого клиента, но не отрисован: синхронизация его не тронет; удалите его или снимите метку.",
    ),
    ("Last run", "Последний запуск"),
    ("Logs", "Журналы"),
    ("Message", "Сообщение"),
    ("Missing", "Отсутствует"),
    ("No Events.", "Событий нет."),
    ("No environment matches.", "Подходящих окружений нет."),
    (
        "Not in the cluster: a sync creates it.",
        "Нет в кластере: синхронизация создаст его.",
    ),
    ("Object", "Объект"),
    ("Objects", "Объекты"),
    ("Progressing", "Выполняется"),
    ("Refresh", "Обновить"),
    ("Rendered", "Отрисовано"),
    ("Revision", "Ревизия"),
    ("Suspended", "Приостановлено"),
    ("Sync", "Синхронизировать"),
    (
        "The cluster is as the last revision.",
        "Кластер соответствует последней ревизии.",
    ),
    (
        "The last run failed: to go back to the last revision, roll back on the client's card.",
        "Последний запуск не удался: чтобы вернуться к последней ревизии, откатите окружение в карточке клиента.",
    ),
    ("Time", "Время"),
    ("Type", "Тип"),
    ("Unknown", "Неизвестно"),
    ("all", "все"),
    (
        "deploys today's rendering, which converges every field above",
        "развёртывает сегодняшнюю отрисовку, что приводит все поля выше к ней",
    ),
    ("drifted", "расходится"),
    ("drifted only", "только с расхождениями"),
    ("extra", "лишний"),
    ("in sync", "синхронно"),
    ("last lines", "последние строки"),
    ("missing", "отсутствует"),
    ("reading the cluster…", "кластер читается…"),
    (
        "the cluster cannot be watched",
        "за кластером нельзя наблюдать",
    ),
    (
        "the cluster did not answer within 3 s",
        "кластер не ответил за 3 с",
    ),
    (
        "The form was not sent from this page's session, or came from another site; reload the page and try again.",
        "Форма отправлена не из сессии этой страницы или с другого сайта; обновите страницу и повторите.",
    ),
    (
        "The server failed; the details are in its log.",
        "Сбой на сервере; подробности в его журнале.",
    ),
    // Template history notes tenantry writes.
    ("default", "по умолчанию"),
    ("imported", "импортирован"),
    ("reset to the default", "возвращён к исходному"),
    ("saved through the API", "сохранён через API"),
    ("enabled", "включён"),
    ("disabled", "выключен"),
    // Audit log actions, as recorded.
    ("add contact", "добавить контакт"),
    ("adopt", "принять под управление"),
    ("archive client", "архивировать клиента"),
    ("change own password", "сменить свой пароль"),
    ("change role", "сменить роль"),
    ("create client", "создать клиента"),
    ("create namespace", "создать пространство"),
    ("create parameter", "создать параметр"),
    ("create user", "создать пользователя"),
    ("create API token", "создать API-токен"),
    ("revoke API token", "отозвать API-токен"),
    ("decommission", "вывести из эксплуатации"),
    ("delete user", "удалить пользователя"),
    ("deploy", "развернуть"),
    ("login failed", "неудачный вход"),
    (
        "login refused: throttled",
        "вход отклонён: слишком много попыток",
    ),
    ("login", "вход"),
    ("logout", "выход"),
    ("remove contact", "удалить контакт"),
    ("restore client", "восстановить клиента"),
    ("restore template", "восстановить шаблон"),
    ("resume", "возобновить"),
    ("reveal secrets", "показать секреты"),
    ("rollback", "откатить"),
    ("save template", "сохранить шаблон"),
    ("set env var", "задать переменную"),
    ("set parameter", "задать параметр"),
    ("suspend", "приостановить"),
    ("unlock user", "разблокировать пользователя"),
    ("unset env var", "удалить переменную"),
    ("unset parameter", "убрать параметр"),
    ("update client", "изменить клиента"),
    ("update contact", "изменить контакт"),
    ("update namespace", "изменить пространство"),
    ("Clients", "Клиенты"),
    ("Client", "Клиент"),
    ("Runs", "Запуски"),
    ("Run", "Запуск"),
    ("Namespaces", "Пространства"),
    ("Namespace", "Пространство"),
    ("Env vars", "Переменные"),
    ("Templates", "Шаблоны"),
    ("Template", "Шаблон"),
    ("Audit log", "Журнал действий"),
    ("Users", "Пользователи"),
    ("API tokens", "API-токены"),
    ("Log out", "Выйти"),
    ("Log in", "Войти"),
    ("User name", "Имя пользователя"),
    ("Password", "Пароль"),
    ("Owner", "Владелец"),
    ("Expires", "Истекает"),
    ("limited by its owner's role", "ограничен ролью владельца"),
    ("expired", "истёк"),
    ("Expires in", "Срок действия"),
    ("days", "дн."),
    (
        "The token acts for you: never with more rights than your role, and it is removed with your account.",
        "Токен действует от вашего имени: никогда с бо́льшими правами, чем у вашей роли, и удаляется вместе с вашей учётной записью.",
    ),
    ("Change my password", "Сменить пароль"),
    ("Current password", "Текущий пароль"),
    ("New password", "Новый пароль"),
    (
        "At least 10 characters; not a common password, and not built from your user name.",
        "Не менее 10 символов; не распространённый пароль и не построенный из имени пользователя.",
    ),
    ("Change password", "Сменить пароль"),
    (
        "Too many failed logins; wait {n} s and try again.",
        "Слишком много неудачных входов; подождите {n} с и попробуйте снова.",
    ),
    (
        "The server is busy checking other logins; try again in a few seconds.",
        "Сервер занят проверкой других входов; попробуйте через несколько секунд.",
    ),
    (
        "This server answers at {url}; open it at that address.",
        "Этот сервер отвечает по адресу {url}; откройте его по этому адресу.",
    ),
    (
        "This address does not take that method.",
        "Этот адрес не принимает такой метод.",
    ),
    (
        "Wrong name or password, or too many attempts. Try again later.",
        "Неверное имя или пароль, или слишком много попыток. Повторите позже.",
    ),
    ("Search", "Найти"),
    (
        "Search by id, organisation, contact, phone or e-mail",
        "Поиск по коду, организации, контакту, телефону или e-mail",
    ),
    ("New client", "Новый клиент"),
    ("Organisation", "Организация"),
    ("Contact persons", "Контактные лица"),
    ("Contact person", "Контактное лицо"),
    ("Name", "Имя"),
    ("Position", "Должность"),
    ("Note", "Примечание"),
    ("Phones", "Телефоны"),
    ("E-mails", "E-mail"),
    (
        "One per line or separated by commas",
        "По одному в строке или через запятую",
    ),
    ("Status", "Статус"),
    ("Previous", "Назад"),
    ("Next", "Далее"),
    ("of", "из"),
    ("No clients yet.", "Клиентов пока нет."),
    ("Nothing found.", "Ничего не найдено."),
    ("Create", "Создать"),
    ("Save", "Сохранить"),
    ("Add", "Добавить"),
    ("Remove", "Удалить"),
    ("Deploy", "Развернуть"),
    ("Redeploy", "Развернуть заново"),
    ("suspended", "приостановлено"),
    ("decommissioned", "выведено из эксплуатации"),
    ("Resume", "Возобновить"),
    ("Resume this environment?", "Возобновить это окружение?"),
    ("Suspend", "Приостановить"),
    (
        "Suspend this environment? Its pods stop until it is resumed.",
        "Приостановить это окружение? Его поды остановятся, пока его не возобновят.",
    ),
    ("Revisions", "Ревизии"),
    ("Image", "Образ"),
    ("Changes", "Изменения"),
    ("first deploy", "первое развёртывание"),
    ("nothing", "ничего"),
    ("Roll back to this revision?", "Откатиться к этой ревизии?"),
    ("Roll back to this", "Откатиться к ней"),
    ("Danger zone", "Опасная зона"),
    (
        "Decommission deletes this environment's objects. Its generated secrets are kept unless you forget them.",
        "Вывод из эксплуатации удаляет объекты этого окружения. Его сгенерированные секреты сохраняются, если их не забыть.",
    ),
    ("Also drop its databases", "Также удалить его базы данных"),
    (
        "Also forget its generated secrets",
        "Также забыть его сгенерированные секреты",
    ),
    (
        "Type the client id to confirm",
        "Введите код клиента для подтверждения",
    ),
    ("Decommission", "Вывести из эксплуатации"),
    ("Deploy now to", "Сразу развернуть в"),
    ("Later", "Позже"),
    ("not deployed", "не развёрнут"),
    ("deploying", "развёртывается"),
    ("Show the manifests' diff", "Показать разницу манифестов"),
    ("added", "добавлен"),
    ("removed", "удалён"),
    (
        "This client is archived: it cannot be changed or deployed until it is restored.",
        "Клиент в архиве: его нельзя менять и развёртывать, пока он не восстановлен.",
    ),
    (
        "Archiving hides the client from the lists and stops changes; decommission its environments first.",
        "Архивация скрывает клиента из списков и запрещает изменения; сначала выведите его окружения из эксплуатации.",
    ),
    ("Archive this client?", "Отправить клиента в архив?"),
    ("Archive", "В архив"),
    ("healthy", "работает"),
    ("decommissioning", "удаляется"),
    ("running", "идёт"),
    ("succeeded", "успешно"),
    ("failed", "ошибка"),
    ("interrupted", "прерван"),
    ("pending", "ожидает"),
    ("done", "готово"),
    ("skipped", "пропущен"),
    ("Run history", "История запусков"),
    ("Started", "Начат"),
    ("Finished", "Окончен"),
    ("Step", "Шаг"),
    ("Steps", "Шаги"),
    ("Kind", "Вид"),
    ("Ready", "Готово"),
    ("Restarts", "Перезапуски"),
    ("Detail", "Подробности"),
    ("Elapsed", "Время"),
    ("Reason", "Причина"),
    ("Requests sent", "Отправленные запросы"),
    ("Method", "Метод"),
    ("Path", "Путь"),
    ("Body (secrets masked)", "Тело (секреты скрыты)"),
    ("Add a contact person", "Добавить контактное лицо"),
    (
        "Remove this contact person?",
        "Удалить это контактное лицо?",
    ),
    ("Deploy this client now?", "Развернуть клиента сейчас?"),
    ("Cluster API URL", "URL API кластера"),
    ("Kubernetes namespace", "Пространство имён Kubernetes"),
    ("Token", "Токен"),
    ("CA certificate (PEM)", "Сертификат CA (PEM)"),
    (
        "Leave empty to keep the current token",
        "Оставьте пустым, чтобы не менять токен",
    ),
    ("Parameters", "Параметры"),
    ("Parameter", "Параметр"),
    ("Value", "Значение"),
    ("Secret", "Секрет"),
    ("Scope", "Область"),
    ("global", "общий"),
    ("Set", "Задать"),
    ("Unset", "Сбросить"),
    ("Reveal secrets", "Показать секреты"),
    ("Hide secrets", "Скрыть секреты"),
    ("New namespace", "Новое пространство"),
    ("Settings", "Настройки"),
    ("Editor", "Редактор"),
    ("Macros used", "Используемые макросы"),
    ("Preview for", "Предпросмотр для"),
    ("Preview", "Предпросмотр"),
    ("History", "История"),
    ("Version", "Версия"),
    ("Restore", "Восстановить"),
    (
        "Changes from the current version",
        "Отличия от текущей версии",
    ),
    ("Saved.", "Сохранено."),
    ("When", "Когда"),
    ("Who", "Кто"),
    ("Action", "Действие"),
    ("Target", "Объект"),
    ("From", "Откуда"),
    ("Role", "Роль"),
    ("viewer", "наблюдатель"),
    ("operator", "оператор"),
    ("admin", "администратор"),
    ("New user", "Новый пользователь"),
    ("New API token", "Новый API-токен"),
    (
        "Copy this token now; it is not shown again:",
        "Скопируйте токен сейчас, он больше не будет показан:",
    ),
    ("Revoke", "Отозвать"),
    ("revoked", "отозван"),
    ("Created", "Создан"),
    ("Last used", "Последнее использование"),
    ("Not found", "Не найдено"),
    ("Forbidden", "Доступ запрещён"),
    (
        "Your role does not allow this.",
        "Ваша роль не позволяет это сделать.",
    ),
    (
        "First start: create the administrator",
        "Первый запуск: создайте администратора",
    ),
    ("Setup token", "Токен установки"),
    ("Pods", "Поды"),
    ("Live", "В реальном времени"),
    ("Back", "Назад"),
    ("Enabled", "Включён"),
    ("Order", "Порядок"),
    ("After", "После"),
    ("Waits for", "Ожидает"),
    ("Delete", "Удалить"),
    ("Delete this user?", "Удалить пользователя?"),
    ("Revoke this token?", "Отозвать токен?"),
    ("Restore this version?", "Восстановить эту версию?"),
    (
        "Pending steps start when the steps they depend on are done.",
        "Шаги в ожидании начнутся, когда завершатся шаги, от которых они зависят.",
    ),
    ("Contacts", "Контакты"),
    ("Edit", "Изменить"),
    ("Choose a client", "Выберите клиента"),
    ("Language", "Язык"),
    (
        "The template's name cannot change here.",
        "Имя шаблона здесь изменить нельзя.",
    ),
    (
        "This template is disabled, so it is not in the plan.",
        "Этот шаблон выключен, поэтому его нет в плане.",
    ),
    (
        "Save anyway, with these problems",
        "Всё равно сохранить, с этими ошибками",
    ),
    ("Comment", "Комментарий"),
    ("What changed and why", "Что изменилось и зачем"),
    (
        "Choose a client and a namespace to see the request this template sends for it.",
        "Выберите клиента и пространство, чтобы увидеть запрос, который этот шаблон для него отправит.",
    ),
    ("Changes from version", "Изменения относительно версии"),
    ("The first version.", "Первая версия."),
    ("Bad request", "Неверный запрос"),
    ("Not logged in", "Вход не выполнен"),
    ("Method not allowed", "Метод не поддерживается"),
    ("Conflict", "Конфликт"),
    ("Wrong address", "Не тот адрес"),
    ("Cannot be done", "Невозможно выполнить"),
    ("Too many requests", "Слишком много запросов"),
    ("Unavailable", "Недоступно"),
    ("Server error", "Ошибка сервера"),
    ("Open the running run", "Открыть идущий запуск"),
    ("never", "никогда"),
    ("No pods.", "Подов нет."),
    ("ext.", "доб."),
    ("value", "значение"),
    ("secret", "секрет"),
    ("set by tenantry", "задаёт tenantry"),
    (
        "•••••• (type to replace)",
        "•••••• (введите, чтобы заменить)",
    ),
    (
        "Unset this parameter here?",
        "Убрать значение параметра здесь?",
    ),
    ("A new parameter", "Новый параметр"),
    ("There is no parameter", "Нет параметра"),
    ("Did you mean", "Возможно, имелся в виду"),
    (
        "A new parameter is only used once a template or an env var names it.",
        "Новый параметр используется, только когда его называет шаблон или переменная.",
    ),
    ("Create it", "Создать его"),
    ("Saved:", "Сохранено:"),
    (
        "none: the system's trusted CAs",
        "нет: доверенные центры системы",
    ),
    (
        "No env vars of its own: it uses the global ones.",
        "Своих переменных нет: используются глобальные.",
    ),
    ("No contacts yet.", "Контактов пока нет."),
    ("No runs yet.", "Запусков пока нет."),
    ("Unset this env var?", "Удалить эту переменную?"),
];

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
