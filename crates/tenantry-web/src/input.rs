//! What operators type, turned into domain values; every problem names its field.

use serde::Deserialize;
use tenantry_core::{ContactName, Email, OrgName, Phone, limits};
use tenantry_store::{ClientUpdate, Contact, ContactUpdate, NewClient, NewContact};
use utoipa::ToSchema;

use crate::error::WebError;
use crate::forms::InputProblem;

/// A contact person: a name, and as many phones and e-mails as they have.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactInput {
    /// Up to 200 characters.
    #[schema(format = "nonblank-text")]
    pub name: String,
    /// Up to 200 characters; blank: none.
    #[serde(default)]
    #[schema(format = "text")]
    pub role: Option<String>,
    /// Up to 4,000 characters; blank: none.
    #[serde(default)]
    #[schema(format = "text")]
    pub note: Option<String>,
    #[serde(default)]
    #[schema(value_type = Vec<crate::api_types::PhoneText>, max_items = 20)]
    pub phones: Vec<String>,
    #[serde(default)]
    #[schema(value_type = Vec<crate::api_types::EmailText>, max_items = 20)]
    pub emails: Vec<String>,
}

/// A client to create: the organisation, its own phones and e-mails, its contacts.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientInput {
    /// Up to 300 characters.
    #[schema(format = "nonblank-text")]
    pub organisation: String,
    #[serde(default)]
    #[schema(value_type = Vec<crate::api_types::PhoneText>, max_items = 20)]
    pub phones: Vec<String>,
    #[serde(default)]
    #[schema(value_type = Vec<crate::api_types::EmailText>, max_items = 20)]
    pub emails: Vec<String>,
    #[serde(default)]
    #[schema(max_items = 50)]
    pub contacts: Vec<ContactInput>,
}

pub use crate::forms::{split_emails, split_phones};

fn invalid(field: &str, problem: InputProblem) -> WebError {
    WebError::Input {
        field: field.to_owned(),
        problem,
    }
}

fn limit(r: Result<(), tenantry_core::limits::LimitError>) -> Result<(), WebError> {
    r.map_err(|e| {
        let field = e.field().to_owned();
        invalid(&field, InputProblem::Limit(e))
    })
}

pub fn phones(field: &str, items: &[String]) -> Result<Vec<Phone>, WebError> {
    limit(limits::items(field, items.len(), limits::PHONES_OR_EMAILS))?;
    items
        .iter()
        .enumerate()
        .map(|(i, p)| {
            Phone::parse(p).map_err(|e| invalid(&format!("{field}[{i}]"), InputProblem::Phone(e)))
        })
        .collect()
}

pub fn emails(field: &str, items: &[String]) -> Result<Vec<Email>, WebError> {
    limit(limits::items(field, items.len(), limits::PHONES_OR_EMAILS))?;
    items
        .iter()
        .enumerate()
        .map(|(i, p)| {
            Email::parse(p).map_err(|e| invalid(&format!("{field}[{i}]"), InputProblem::Email(e)))
        })
        .collect()
}

pub fn org(field: &str, s: &str) -> Result<OrgName, WebError> {
    OrgName::parse(s).map_err(|e| invalid(field, InputProblem::OrgName(e)))
}

fn text(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

impl ContactInput {
    pub fn parse(&self, field: &str) -> Result<NewContact, WebError> {
        if let Some(r) = &self.role {
            limit(limits::chars(
                &format!("{field}.role"),
                r.trim(),
                limits::CONTACT_ROLE_CHARS,
            ))?;
        }
        if let Some(n) = &self.note {
            limit(limits::chars(
                &format!("{field}.note"),
                n.trim(),
                limits::CONTACT_NOTE_CHARS,
            ))?;
        }
        Ok(NewContact {
            name: ContactName::parse(&self.name)
                .map_err(|e| invalid(&format!("{field}.name"), InputProblem::ContactName(e)))?,
            role: text(&self.role),
            note: text(&self.note),
            phones: phones(&format!("{field}.phones"), &self.phones)?,
            emails: emails(&format!("{field}.emails"), &self.emails)?,
        })
    }

    /// The changes that turn `old` into this.
    pub fn update_from(&self, old: &Contact, field: &str) -> Result<ContactUpdate, WebError> {
        let new = self.parse(field)?;
        Ok(ContactUpdate {
            name: (new.name != old.name).then_some(new.name),
            role: (new.role != old.role).then_some(new.role),
            note: (new.note != old.note).then_some(new.note),
            add_phones: new
                .phones
                .iter()
                .filter(|p| !old.phones.contains(p))
                .cloned()
                .collect(),
            remove_phones: old
                .phones
                .iter()
                .filter(|p| !new.phones.contains(p))
                .cloned()
                .collect(),
            add_emails: new
                .emails
                .iter()
                .filter(|p| !old.emails.contains(p))
                .cloned()
                .collect(),
            remove_emails: old
                .emails
                .iter()
                .filter(|p| !new.emails.contains(p))
                .cloned()
                .collect(),
        })
    }
}

impl ClientInput {
    pub fn parse(&self) -> Result<NewClient, WebError> {
        limit(limits::items(
            "contacts",
            self.contacts.len(),
            limits::CONTACTS,
        ))?;
        Ok(NewClient {
            name: org("organisation", &self.organisation)?,
            phones: phones("phones", &self.phones)?,
            emails: emails("emails", &self.emails)?,
            contacts: self
                .contacts
                .iter()
                .enumerate()
                .map(|(i, c)| c.parse(&format!("contacts[{i}]")))
                .collect::<Result<_, _>>()?,
        })
    }
}

/// Changes to a client's own name, phones and e-mails; an absent field stays.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientPatch {
    #[serde(default)]
    /// Up to 300 characters.
    #[schema(format = "nonblank-text")]
    pub organisation: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<crate::api_types::PhoneText>>, max_items = 20)]
    pub phones: Option<Vec<String>>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<crate::api_types::EmailText>>, max_items = 20)]
    pub emails: Option<Vec<String>>,
}

impl ClientPatch {
    pub fn update_from(&self, old: &tenantry_store::Client) -> Result<ClientUpdate, WebError> {
        let mut u = ClientUpdate::default();
        if let Some(o) = &self.organisation {
            let name = org("organisation", o)?;
            if name != old.name {
                u.name = Some(name);
            }
        }
        if let Some(p) = &self.phones {
            let new = phones("phones", p)?;
            u.add_phones = new
                .iter()
                .filter(|x| !old.phones.contains(x))
                .cloned()
                .collect();
            u.remove_phones = old
                .phones
                .iter()
                .filter(|x| !new.contains(x))
                .cloned()
                .collect();
        }
        if let Some(e) = &self.emails {
            let new = emails("emails", e)?;
            u.add_emails = new
                .iter()
                .filter(|x| !old.emails.contains(x))
                .cloned()
                .collect();
            u.remove_emails = old
                .emails
                .iter()
                .filter(|x| !new.contains(x))
                .cloned()
                .collect();
        }
        Ok(u)
    }
}

/// A submitted HTML form, fields in order (repeated names allowed).
#[derive(Debug, Clone, Default)]
pub struct FormData(pub Vec<(String, String)>);

impl FormData {
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Contact blocks: the i-th `contact_name`, `contact_role`, … together; blank ones skipped.
    pub fn contacts(&self) -> Vec<ContactInput> {
        let names = self.all("contact_name");
        let roles = self.all("contact_role");
        let notes = self.all("contact_note");
        let phones = self.all("contact_phones");
        let emails = self.all("contact_emails");
        (0..names.len())
            .map(|i| ContactInput {
                name: names[i].to_owned(),
                role: roles.get(i).map(|s| (*s).to_owned()),
                note: notes.get(i).map(|s| (*s).to_owned()),
                phones: split_phones(phones.get(i).copied().unwrap_or("")),
                emails: split_emails(emails.get(i).copied().unwrap_or("")),
            })
            .filter(|c| {
                !(c.name.trim().is_empty()
                    && c.phones.is_empty()
                    && c.emails.is_empty()
                    && text(&c.role).is_none()
                    && text(&c.note).is_none())
            })
            .collect()
    }

    pub fn client(&self) -> ClientInput {
        ClientInput {
            organisation: self.get("organisation").to_owned(),
            phones: split_phones(self.get("phones")),
            emails: split_emails(self.get("emails")),
            contacts: self.contacts(),
        }
    }
}

impl<S: Send + Sync> axum::extract::FromRequest<S> for FormData {
    type Rejection = WebError;
    async fn from_request(req: axum::extract::Request, _: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::to_bytes(req.into_body(), 2 * 1024 * 1024)
            .await
            .map_err(|_| WebError::field("body", "the form is larger than 2 MiB"))?;
        Ok(Self(crate::auth::form_urlencoded_pairs(&bytes)))
    }
}

/// A client id from a path; one that cannot be is a page that does not exist.
pub fn client_id(s: &str) -> Result<tenantry_core::ClientId, WebError> {
    tenantry_core::ClientId::parse(s).map_err(|e| WebError::not_found(e.to_string()))
}
