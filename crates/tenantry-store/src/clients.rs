//! Clients (R1): ids `C<N>` from a counter that never goes back, organisation names,
//! contact persons with their phones and e-mails, archiving instead of deleting.

use std::collections::HashMap;

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use tenantry_core::{ClientId, ContactName, Email, OrgName, Phone};

use crate::client_search::refresh_search;
use crate::db::{Catalog, now};
use crate::error::StoreError;

/// A client as stored: its organisation (`name`), phones, e-mails and contacts.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ClientRecord))]
#[derive(Debug, Clone, Serialize)]
pub struct Client {
    pub id: ClientId,
    pub name: OrgName,
    pub phones: Vec<Phone>,
    pub emails: Vec<Email>,
    pub contacts: Vec<Contact>,
    pub archived: bool,
    pub created_at: String,
    pub updated_at: String,
    pub archived_at: Option<String>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct Contact {
    pub id: i64,
    pub name: ContactName,
    pub role: Option<String>,
    pub note: Option<String>,
    pub phones: Vec<Phone>,
    pub emails: Vec<Email>,
}

#[derive(Debug, Clone)]
pub struct NewClient {
    pub name: OrgName,
    pub phones: Vec<Phone>,
    pub emails: Vec<Email>,
    pub contacts: Vec<NewContact>,
}

#[derive(Debug, Clone)]
pub struct NewContact {
    pub name: ContactName,
    pub role: Option<String>,
    pub note: Option<String>,
    pub phones: Vec<Phone>,
    pub emails: Vec<Email>,
}

/// Changes to a client; `None` and empty lists leave things as they are.
#[derive(Debug, Clone, Default)]
pub struct ClientUpdate {
    pub name: Option<OrgName>,
    pub add_phones: Vec<Phone>,
    pub remove_phones: Vec<Phone>,
    pub add_emails: Vec<Email>,
    pub remove_emails: Vec<Email>,
}

/// Changes to a contact person; `Some(None)` clears a role or note.
#[derive(Debug, Clone, Default)]
pub struct ContactUpdate {
    pub name: Option<ContactName>,
    pub role: Option<Option<String>>,
    pub note: Option<Option<String>>,
    pub add_phones: Vec<Phone>,
    pub remove_phones: Vec<Phone>,
    pub add_emails: Vec<Email>,
    pub remove_emails: Vec<Email>,
}

pub(crate) fn number_of(id: ClientId) -> i64 {
    i64::try_from(id.number()).unwrap_or(i64::MAX)
}

impl Catalog {
    /// Creates a client and returns it with its new id. The id comes from a counter row
    /// updated in the same transaction, so concurrent creators never share a number and
    /// a number is never given twice.
    pub async fn create_client(&self, new: &NewClient) -> Result<Client, StoreError> {
        let mut tx = self.begin().await?;
        let n: i64 = sqlx::query(
            "UPDATE counters SET value = value + 1 WHERE name = 'client' RETURNING value",
        )
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        let id = u64::try_from(n)
            .ok()
            .and_then(ClientId::from_number)
            .ok_or_else(|| StoreError::Corrupt(format!("client counter is {n}")))?;
        let now = now();
        sqlx::query(
            "INSERT INTO clients (number, name, created_at, updated_at) VALUES ($1, $2, $3, $3)",
        )
        .bind(n)
        .bind(new.name.as_str())
        .bind(&now)
        .execute(&mut *tx)
        .await?;
        add_points(&mut tx, n, None, &new.phones, &new.emails).await?;
        for c in &new.contacts {
            insert_contact(&mut tx, n, c).await?;
        }
        refresh_search(&mut tx, n).await?;
        tx.commit().await?;
        tracing::info!(client = %id, "client created");
        self.client(id).await
    }

    pub async fn client(&self, id: ClientId) -> Result<Client, StoreError> {
        let n = number_of(id);
        let rows = sqlx::query("SELECT number, name, created_at, updated_at, archived_at FROM clients WHERE number = $1")
            .bind(n)
            .fetch_all(&self.pool)
            .await?;
        let contacts = sqlx::query("SELECT id, client_number, name, role, note FROM contacts WHERE client_number = $1 ORDER BY id")
            .bind(n)
            .fetch_all(&self.pool)
            .await?;
        let points = sqlx::query(
            "SELECT client_number, contact_id, kind, value FROM contact_points WHERE client_number = $1 ORDER BY id",
        )
        .bind(n)
        .fetch_all(&self.pool)
        .await?;
        assemble(rows, contacts, points)?
            .pop()
            .ok_or(StoreError::ClientNotFound(id))
    }

    pub async fn update_client(
        &self,
        id: ClientId,
        update: &ClientUpdate,
    ) -> Result<Client, StoreError> {
        let n = number_of(id);
        let mut tx = self.begin().await?;
        ensure_active(&mut tx, id).await?;
        if let Some(name) = &update.name {
            sqlx::query("UPDATE clients SET name = $1 WHERE number = $2")
                .bind(name.as_str())
                .bind(n)
                .execute(&mut *tx)
                .await?;
        }
        remove_points(
            &mut tx,
            n,
            None,
            &update.remove_phones,
            &update.remove_emails,
        )
        .await?;
        add_points(&mut tx, n, None, &update.add_phones, &update.add_emails).await?;
        touch(&mut tx, n).await?;
        refresh_search(&mut tx, n).await?;
        tx.commit().await?;
        self.client(id).await
    }

    /// Archives a client: it leaves the default listing but keeps its id and data.
    /// Archives a client; refused while any of its environments may still exist in a
    /// cluster (an archived client cannot be deployed, so nothing would remove them).
    pub async fn archive_client(&self, id: ClientId) -> Result<Client, StoreError> {
        self.client(id).await?;
        let live: Vec<String> = self
            .environment_statuses(id)
            .await?
            .into_iter()
            .filter(|(_, status, _)| status.exists())
            .map(|(ns, _, _)| ns)
            .collect();
        if !live.is_empty() {
            return Err(StoreError::EnvironmentsExist {
                client: id,
                namespaces: live,
            });
        }
        self.set_archived(id, true).await
    }

    pub async fn restore_client(&self, id: ClientId) -> Result<Client, StoreError> {
        self.set_archived(id, false).await
    }

    async fn set_archived(&self, id: ClientId, archived: bool) -> Result<Client, StoreError> {
        let now = now();
        let at = archived.then_some(now.clone());
        let done =
            sqlx::query("UPDATE clients SET archived_at = $1, updated_at = $2 WHERE number = $3")
                .bind(at)
                .bind(&now)
                .bind(number_of(id))
                .execute(&self.pool)
                .await?
                .rows_affected();
        if done == 0 {
            return Err(StoreError::ClientNotFound(id));
        }
        self.client(id).await
    }

    pub async fn add_contact(
        &self,
        id: ClientId,
        contact: &NewContact,
    ) -> Result<Contact, StoreError> {
        let n = number_of(id);
        let mut tx = self.begin().await?;
        ensure_active(&mut tx, id).await?;
        let existing: i64 = sqlx::query("SELECT COUNT(*) FROM contacts WHERE client_number = $1")
            .bind(n)
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
        tenantry_core::limits::items(
            "contacts",
            usize::try_from(existing).unwrap_or(usize::MAX) + 1,
            tenantry_core::limits::CONTACTS,
        )?;
        let contact_id = insert_contact(&mut tx, n, contact).await?;
        touch(&mut tx, n).await?;
        refresh_search(&mut tx, n).await?;
        tx.commit().await?;
        self.contact(id, contact_id).await
    }

    pub async fn update_contact(
        &self,
        id: ClientId,
        contact_id: i64,
        update: &ContactUpdate,
    ) -> Result<Contact, StoreError> {
        let n = number_of(id);
        let mut tx = self.begin().await?;
        ensure_active(&mut tx, id).await?;
        ensure_contact(&mut tx, id, contact_id).await?;
        if let Some(name) = &update.name {
            sqlx::query("UPDATE contacts SET name = $1 WHERE id = $2")
                .bind(name.as_str())
                .bind(contact_id)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(role) = &update.role {
            sqlx::query("UPDATE contacts SET role = $1 WHERE id = $2")
                .bind(role.clone())
                .bind(contact_id)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(note) = &update.note {
            sqlx::query("UPDATE contacts SET note = $1 WHERE id = $2")
                .bind(note.clone())
                .bind(contact_id)
                .execute(&mut *tx)
                .await?;
        }
        remove_points(
            &mut tx,
            n,
            Some(contact_id),
            &update.remove_phones,
            &update.remove_emails,
        )
        .await?;
        add_points(
            &mut tx,
            n,
            Some(contact_id),
            &update.add_phones,
            &update.add_emails,
        )
        .await?;
        touch(&mut tx, n).await?;
        refresh_search(&mut tx, n).await?;
        tx.commit().await?;
        self.contact(id, contact_id).await
    }

    pub async fn remove_contact(&self, id: ClientId, contact_id: i64) -> Result<(), StoreError> {
        let n = number_of(id);
        let mut tx = self.begin().await?;
        ensure_active(&mut tx, id).await?;
        ensure_contact(&mut tx, id, contact_id).await?;
        sqlx::query("DELETE FROM contact_points WHERE contact_id = $1")
            .bind(contact_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM contacts WHERE id = $1")
            .bind(contact_id)
            .execute(&mut *tx)
            .await?;
        touch(&mut tx, n).await?;
        refresh_search(&mut tx, n).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn contact(&self, id: ClientId, contact_id: i64) -> Result<Contact, StoreError> {
        self.client(id)
            .await?
            .contacts
            .into_iter()
            .find(|c| c.id == contact_id)
            .ok_or(StoreError::ContactNotFound {
                client: id,
                contact: contact_id,
            })
    }
}

async fn ensure_active(tx: &mut Transaction<'static, Any>, id: ClientId) -> Result<(), StoreError> {
    let row = sqlx::query("SELECT archived_at FROM clients WHERE number = $1")
        .bind(number_of(id))
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(StoreError::ClientNotFound(id))?;
    let archived: Option<String> = row.try_get(0)?;
    if archived.is_some() {
        return Err(StoreError::ClientArchived(id));
    }
    Ok(())
}

async fn ensure_contact(
    tx: &mut Transaction<'static, Any>,
    id: ClientId,
    contact_id: i64,
) -> Result<(), StoreError> {
    let found = sqlx::query("SELECT id FROM contacts WHERE id = $1 AND client_number = $2")
        .bind(contact_id)
        .bind(number_of(id))
        .fetch_optional(&mut **tx)
        .await?;
    match found {
        Some(_) => Ok(()),
        None => Err(StoreError::ContactNotFound {
            client: id,
            contact: contact_id,
        }),
    }
}

async fn touch(tx: &mut Transaction<'static, Any>, n: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE clients SET updated_at = $1 WHERE number = $2")
        .bind(now())
        .bind(n)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

async fn insert_contact(
    tx: &mut Transaction<'static, Any>,
    n: i64,
    c: &NewContact,
) -> Result<i64, StoreError> {
    let contact_id: i64 =
        sqlx::query("INSERT INTO contacts (client_number, name, role, note) VALUES ($1, $2, $3, $4) RETURNING id")
            .bind(n)
            .bind(c.name.as_str())
            .bind(c.role.clone())
            .bind(c.note.clone())
            .fetch_one(&mut **tx)
            .await?
            .try_get(0)?;
    add_points(tx, n, Some(contact_id), &c.phones, &c.emails).await?;
    Ok(contact_id)
}

fn points<'a>(
    phones: &'a [Phone],
    emails: &'a [Email],
) -> impl Iterator<Item = (&'static str, &'a str)> {
    phones
        .iter()
        .map(|p| ("phone", p.as_str()))
        .chain(emails.iter().map(|e| ("email", e.as_str())))
}

async fn add_points(
    tx: &mut Transaction<'static, Any>,
    n: i64,
    contact: Option<i64>,
    phones: &[Phone],
    emails: &[Email],
) -> Result<(), StoreError> {
    for (kind, value) in points(phones, emails) {
        // A number or address already on this person is not added twice.
        let exists = match contact {
            Some(c) => sqlx::query("SELECT 1 FROM contact_points WHERE contact_id = $1 AND kind = $2 AND value = $3")
                .bind(c)
                .bind(kind)
                .bind(value)
                .fetch_optional(&mut **tx)
                .await?,
            None => sqlx::query(
                "SELECT 1 FROM contact_points WHERE client_number = $1 AND contact_id IS NULL AND kind = $2 AND value = $3",
            )
            .bind(n)
            .bind(kind)
            .bind(value)
            .fetch_optional(&mut **tx)
            .await?,
        };
        if exists.is_none() {
            sqlx::query("INSERT INTO contact_points (client_number, contact_id, kind, value) VALUES ($1, $2, $3, $4)")
                .bind(n)
                .bind(contact)
                .bind(kind)
                .bind(value)
                .execute(&mut **tx)
                .await?;
        }
    }
    Ok(())
}

async fn remove_points(
    tx: &mut Transaction<'static, Any>,
    n: i64,
    contact: Option<i64>,
    phones: &[Phone],
    emails: &[Email],
) -> Result<(), StoreError> {
    for (kind, value) in points(phones, emails) {
        match contact {
            Some(c) => sqlx::query("DELETE FROM contact_points WHERE contact_id = $1 AND kind = $2 AND value = $3")
                .bind(c)
                .bind(kind)
                .bind(value)
                .execute(&mut **tx)
                .await?,
            None => sqlx::query(
                "DELETE FROM contact_points WHERE client_number = $1 AND contact_id IS NULL AND kind = $2 AND value = $3",
            )
            .bind(n)
            .bind(kind)
            .bind(value)
            .execute(&mut **tx)
            .await?,
        };
    }
    Ok(())
}

fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

/// Builds clients from the rows of the three tables.
pub(crate) fn assemble(
    clients: Vec<AnyRow>,
    contacts: Vec<AnyRow>,
    points: Vec<AnyRow>,
) -> Result<Vec<Client>, StoreError> {
    let mut out = Vec::with_capacity(clients.len());
    let mut index = HashMap::with_capacity(clients.len());
    for r in clients {
        let n: i64 = r.try_get(0)?;
        let id = u64::try_from(n)
            .ok()
            .and_then(ClientId::from_number)
            .ok_or_else(|| corrupt(format!("client number {n}")))?;
        let name: String = r.try_get(1)?;
        let archived_at: Option<String> = r.try_get(4)?;
        index.insert(n, out.len());
        out.push(Client {
            id,
            name: OrgName::parse(&name).map_err(corrupt)?,
            phones: vec![],
            emails: vec![],
            contacts: vec![],
            archived: archived_at.is_some(),
            created_at: r.try_get(2)?,
            updated_at: r.try_get(3)?,
            archived_at,
        });
    }
    let mut contact_at = HashMap::new();
    for r in contacts {
        let cid: i64 = r.try_get(0)?;
        let n: i64 = r.try_get(1)?;
        let Some(&i) = index.get(&n) else { continue };
        let name: String = r.try_get(2)?;
        contact_at.insert(cid, (i, out[i].contacts.len()));
        out[i].contacts.push(Contact {
            id: cid,
            name: ContactName::parse(&name).map_err(corrupt)?,
            role: r.try_get(3)?,
            note: r.try_get(4)?,
            phones: vec![],
            emails: vec![],
        });
    }
    for r in points {
        let n: i64 = r.try_get(0)?;
        let contact: Option<i64> = r.try_get(1)?;
        let kind: String = r.try_get(2)?;
        let value: String = r.try_get(3)?;
        let Some(&i) = index.get(&n) else { continue };
        let is_phone = kind == "phone";
        match contact.and_then(|c| contact_at.get(&c)) {
            Some(&(i, j)) => {
                let k = &mut out[i].contacts[j];
                push_point(&mut k.phones, &mut k.emails, is_phone, &value)?;
            }
            None => {
                let c = &mut out[i];
                push_point(&mut c.phones, &mut c.emails, is_phone, &value)?;
            }
        }
    }
    Ok(out)
}

fn push_point(
    phones: &mut Vec<Phone>,
    emails: &mut Vec<Email>,
    is_phone: bool,
    value: &str,
) -> Result<(), StoreError> {
    if is_phone {
        phones.push(Phone::from_e164(value).map_err(corrupt)?);
    } else {
        emails.push(Email::parse(value).map_err(corrupt)?);
    }
    Ok(())
}
