//! Clients: ids from C1 never reused (also from many connections at once), contacts
//! with phones and e-mails, archiving, search.

use super::*;

#[tokio::test]
async fn client_ids_count_up_from_c1_and_are_never_reused() {
    for db in TestDb::all("client ids").await {
        let cat = open(&db).await;
        let a = cat
            .create_client(&new_client("ООО «Ромашка»"))
            .await
            .unwrap();
        let b = cat.create_client(&new_client("Acme")).await.unwrap();
        assert_eq!(
            (a.id.to_string(), b.id.to_string()),
            ("C1".into(), "C2".into()),
            "{:?}",
            db.kind
        );
        cat.archive_client(b.id).await.unwrap();
        let c = cat.create_client(&new_client("Third")).await.unwrap();
        assert_eq!(c.id.to_string(), "C3", "{:?}", db.kind);
        // Reopening the catalog does not restart the counter.
        cat.close().await;
        let cat = open(&db).await;
        assert_eq!(
            cat.create_client(&new_client("Fourth"))
                .await
                .unwrap()
                .id
                .to_string(),
            "C4"
        );
    }
}

#[tokio::test]
async fn clients_keep_contacts_with_their_phones_and_emails() {
    for db in TestDb::all("contacts").await {
        let cat = open(&db).await;
        let mut new = new_client("  АО \"Вектор\" 🚀 ");
        new.phones = vec![Phone::parse("8 (495) 123-45-67").unwrap()];
        new.emails = vec![Email::parse("Office@Vector.RU").unwrap()];
        new.contacts = vec![
            contact(
                "Иванова Мария",
                &["+7 916 555-12-34", "+7 (495) 765-43-21"],
                &["m.ivanova@vector.ru"],
            ),
            contact(
                "Пётр Сидоров",
                &[],
                &["petr@vector.ru", "p.sidorov@mail.example.com"],
            ),
        ];
        let created = cat.create_client(&new).await.unwrap();
        let got = cat.client(created.id).await.unwrap();
        assert_eq!(got.name.as_str(), "АО \"Вектор\" 🚀");
        assert_eq!(got.phones[0].as_str(), "+74951234567");
        assert_eq!(got.emails[0].as_str(), "Office@vector.ru");
        assert_eq!(got.contacts.len(), 2);
        assert_eq!(got.contacts[0].name.as_str(), "Иванова Мария");
        assert_eq!(got.contacts[0].role.as_deref(), Some("Директор"));
        let phones: Vec<_> = got.contacts[0].phones.iter().map(Phone::as_str).collect();
        assert_eq!(phones, ["+79165551234", "+74957654321"]);
        assert_eq!(got.contacts[1].emails.len(), 2);

        // A contact is added, edited and removed.
        let k = cat
            .add_contact(got.id, &contact("Olga", &["+44 20 7946 0958"], &[]))
            .await
            .unwrap();
        let upd = ContactUpdate {
            role: Some(None),
            note: Some(Some("звонить после 10:00".into())),
            add_phones: vec![
                Phone::parse("+44 20 7946 0958").unwrap(),
                Phone::parse("+7 916 000-11-22").unwrap(),
            ],
            remove_phones: vec![Phone::parse("+442079460958").unwrap()],
            add_emails: vec![Email::parse("olga@example.com").unwrap()],
            ..Default::default()
        };
        let k = cat.update_contact(got.id, k.id, &upd).await.unwrap();
        assert_eq!(k.role, None);
        assert_eq!(k.note.as_deref(), Some("звонить после 10:00"));
        // The removal applies before the additions, so the re-added number stays.
        let phones: Vec<_> = k.phones.iter().map(Phone::as_str).collect();
        assert_eq!(phones, ["+442079460958", "+79160001122"], "{:?}", db.kind);
        let first = got.contacts[0].id;
        cat.remove_contact(got.id, first).await.unwrap();
        let after = cat.client(got.id).await.unwrap();
        assert_eq!(after.contacts.len(), 2);
        assert!(after.contacts.iter().all(|c| c.id != first));
        let err = cat.remove_contact(got.id, first).await.unwrap_err();
        assert!(err.to_string().contains("has no contact"), "{err}");
    }
}

#[tokio::test]
async fn archived_clients_leave_the_list_and_cannot_be_changed_until_restored() {
    for db in TestDb::all("archive").await {
        let cat = open(&db).await;
        let a = cat.create_client(&new_client("Alpha")).await.unwrap();
        let b = cat.create_client(&new_client("Beta")).await.unwrap();
        let archived = cat.archive_client(a.id).await.unwrap();
        assert!(archived.archived && archived.archived_at.is_some());
        let ids = |v: Vec<tenantry_store::Client>| {
            v.into_iter().map(|c| c.id.to_string()).collect::<Vec<_>>()
        };
        assert_eq!(
            ids(cat.list_clients(&ClientFilter::default()).await.unwrap()),
            ["C2"]
        );
        let all = ClientFilter {
            include_archived: true,
            ..Default::default()
        };
        assert_eq!(ids(cat.list_clients(&all).await.unwrap()), ["C1", "C2"]);
        let upd = ClientUpdate {
            name: Some(OrgName::parse("Alpha 2").unwrap()),
            ..Default::default()
        };
        assert!(matches!(
            cat.update_client(a.id, &upd).await,
            Err(StoreError::ClientArchived(_))
        ));
        cat.restore_client(a.id).await.unwrap();
        assert_eq!(
            cat.update_client(a.id, &upd).await.unwrap().name.as_str(),
            "Alpha 2"
        );
        let missing = ClientId::parse("C99").unwrap();
        assert!(matches!(
            cat.client(missing).await,
            Err(StoreError::ClientNotFound(_))
        ));
        assert!(matches!(
            cat.archive_client(missing).await,
            Err(StoreError::ClientNotFound(_))
        ));
        let _ = b;
    }
}

#[tokio::test]
async fn the_list_searches_ids_names_contacts_phones_and_emails() {
    for db in TestDb::all("search").await {
        let cat = open(&db).await;
        let mut a = new_client("ООО Ромашка");
        a.contacts = vec![contact(
            "Иванова Мария",
            &["+7 916 555-12-34"],
            &["maria@romashka.ru"],
        )];
        cat.create_client(&a).await.unwrap();
        cat.create_client(&new_client("Acme Corp")).await.unwrap();
        let find = |q: &str| {
            let f = ClientFilter {
                search: Some(q.into()),
                ..Default::default()
            };
            let cat = cat.clone();
            async move {
                cat.list_clients(&f)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|c| c.id.to_string())
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(find("ромашка").await, ["C1"]);
        assert_eq!(find("ACME").await, ["C2"]);
        assert_eq!(find("c2").await, ["C2"]);
        assert_eq!(find("иванова").await, ["C1"]);
        assert_eq!(find("916 555").await, ["C1"]);
        assert_eq!(find("MARIA@").await, ["C1"]);
        assert!(find("nobody").await.is_empty());
        // Wildcards are literal; a search does not match across two fields.
        assert!(find("%").await.is_empty());
        assert!(find("_").await.is_empty());
        assert!(find("ромашка иванова").await.is_empty());
        // What the search sees follows every change.
        let added = cat
            .add_contact(
                "C2".parse().unwrap(),
                &contact("Пётр Сидоров", &["+7 495 111-22-33"], &[]),
            )
            .await
            .unwrap();
        assert_eq!(find("сидоров").await, ["C2"]);
        assert_eq!(find("4951112233").await, ["C2"]);
        // A whole number as people write it at home (8 …) finds the stored +7 one.
        assert_eq!(find("8 (495) 111-22-33").await, ["C2"]);
        assert_eq!(find("8 916 555 12 34").await, ["C1"]);
        cat.remove_contact("C2".parse().unwrap(), added.id)
            .await
            .unwrap();
        assert!(find("сидоров").await.is_empty());
        cat.archive_client("C1".parse().unwrap()).await.unwrap();
        assert!(
            find("ромашка").await.is_empty(),
            "archived clients are not listed"
        );
        let (page, total) = cat
            .list_clients_page(
                &ClientFilter {
                    search: Some("ромашка".into()),
                    include_archived: true,
                    ..Default::default()
                },
                0,
                10,
            )
            .await
            .unwrap();
        assert_eq!((page.len(), total), (1, 1));
    }
}

#[tokio::test]
async fn concurrent_creators_on_separate_connections_get_distinct_consecutive_ids() {
    for db in TestDb::all("concurrent ids").await {
        open(&db).await.close().await;
        let mut tasks = Vec::new();
        for w in 0..4 {
            let o = opts(&db);
            tasks.push(tokio::spawn(async move {
                let cat = Catalog::open(&o).await.unwrap().0;
                let mut ids = Vec::new();
                for i in 0..15 {
                    ids.push(
                        cat.create_client(&new_client(&format!("w{w} c{i}")))
                            .await
                            .unwrap()
                            .id
                            .number(),
                    );
                }
                ids
            }));
        }
        let mut all = BTreeSet::new();
        for t in tasks {
            for id in t.await.unwrap() {
                assert!(all.insert(id), "{id} given twice on {:?}", db.kind);
            }
        }
        assert_eq!(all, (1..=60).collect::<BTreeSet<u64>>(), "{:?}", db.kind);
    }
}
