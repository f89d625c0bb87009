//! `tenantry client …`: the client list (R1).

use serde_json::json;
use tenantry_core::contact::optional_text;
use tenantry_core::{ContactName, OrgName};
use tenantry_store::{
    Catalog, Client, ClientFilter, ClientUpdate, Contact, ContactUpdate, NewClient, NewContact,
};

use crate::cli::{ClientCmd, ContactCmd};
use crate::output::{Format, Table, json, outln};

pub async fn run(catalog: &Catalog, cmd: ClientCmd, format: Format) -> anyhow::Result<()> {
    match cmd {
        ClientCmd::Create {
            name,
            phones,
            emails,
        } => {
            let new = NewClient {
                name: OrgName::parse(&name)?,
                phones,
                emails,
                contacts: vec![],
            };
            let client = catalog.create_client(&new).await?;
            match format {
                Format::Json => json(&client)?,
                Format::Text => outln!("{}", client.id),
            }
        }
        ClientCmd::List {
            all,
            archived,
            search,
        } => {
            let filter = ClientFilter {
                include_archived: all,
                only_archived: archived,
                search,
            };
            let clients = catalog.list_clients(&filter).await?;
            match format {
                Format::Json => json(&clients)?,
                Format::Text => print_list(&clients),
            }
        }
        ClientCmd::Show { id } => print_client(&catalog.client(id).await?, format)?,
        ClientCmd::Edit { id, name, points } => {
            let update = ClientUpdate {
                name: name.as_deref().map(OrgName::parse).transpose()?,
                add_phones: points.add_phones,
                remove_phones: points.remove_phones,
                add_emails: points.add_emails,
                remove_emails: points.remove_emails,
            };
            print_client(&catalog.update_client(id, &update).await?, format)?;
        }
        ClientCmd::Archive { id } => {
            let c = catalog.archive_client(id).await?;
            done(format, &c, &format!("archived {} ({})", c.id, c.name))?;
        }
        ClientCmd::Restore { id } => {
            let c = catalog.restore_client(id).await?;
            done(format, &c, &format!("restored {} ({})", c.id, c.name))?;
        }
        ClientCmd::Contact(c) => contact(catalog, c, format).await?,
    }
    Ok(())
}

async fn contact(catalog: &Catalog, cmd: ContactCmd, format: Format) -> anyhow::Result<()> {
    match cmd {
        ContactCmd::Add {
            id,
            name,
            role,
            note,
            phones,
            emails,
        } => {
            let new = NewContact {
                name: ContactName::parse(&name)?,
                role: optional_text(role.as_deref()),
                note: optional_text(note.as_deref()),
                phones,
                emails,
            };
            let k = catalog.add_contact(id, &new).await?;
            match format {
                Format::Json => json(&k)?,
                Format::Text => outln!("added contact #{} ({}) to {id}", k.id, k.name),
            }
        }
        ContactCmd::Edit {
            id,
            contact,
            name,
            role,
            clear_role,
            note,
            clear_note,
            points,
        } => {
            let text = |v: Option<String>, clear: bool| {
                if clear {
                    Some(None)
                } else {
                    v.map(|s| optional_text(Some(&s)))
                }
            };
            let update = ContactUpdate {
                name: name.as_deref().map(ContactName::parse).transpose()?,
                role: text(role, clear_role),
                note: text(note, clear_note),
                add_phones: points.add_phones,
                remove_phones: points.remove_phones,
                add_emails: points.add_emails,
                remove_emails: points.remove_emails,
            };
            let k = catalog.update_contact(id, contact, &update).await?;
            match format {
                Format::Json => json(&k)?,
                Format::Text => print_contact(&k),
            }
        }
        ContactCmd::Remove { id, contact } => {
            catalog.remove_contact(id, contact).await?;
            match format {
                Format::Json => json(&json!({ "client": id, "removed_contact": contact }))?,
                Format::Text => outln!("removed contact #{contact} from {id}"),
            }
        }
    }
    Ok(())
}

fn done(format: Format, c: &Client, text: &str) -> anyhow::Result<()> {
    match format {
        Format::Json => json(c),
        Format::Text => {
            outln!("{text}");
            Ok(())
        }
    }
}

fn print_list(clients: &[Client]) {
    if clients.is_empty() {
        outln!("no clients (create one with `tenantry client create --name NAME`)");
        return;
    }
    let mut t = Table::new(&["ID", "ORGANISATION", "CONTACTS", "STATUS"]);
    for c in clients {
        let contacts = c
            .contacts
            .iter()
            .map(|k| k.name.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let status = if c.archived { "archived" } else { "active" };
        t.row(vec![
            c.id.to_string(),
            c.name.to_string(),
            contacts,
            status.into(),
        ]);
    }
    t.print();
}

fn print_client(c: &Client, format: Format) -> anyhow::Result<()> {
    if format == Format::Json {
        return json(c);
    }
    outln!("{}  {}", c.id, c.name);
    if let Some(at) = &c.archived_at {
        outln!("  archived {at}");
    }
    outln!("  created {}, updated {}", c.created_at, c.updated_at);
    for p in &c.phones {
        outln!("  phone  {}", p.pretty("ext."));
    }
    for e in &c.emails {
        outln!("  e-mail {e}");
    }
    if c.contacts.is_empty() {
        outln!(
            "  no contact persons (add one with `tenantry client contact add {} --name NAME`)",
            c.id
        );
    }
    for k in &c.contacts {
        print_contact(k);
    }
    Ok(())
}

fn print_contact(k: &Contact) {
    let role = k
        .role
        .as_deref()
        .map(|r| format!(", {r}"))
        .unwrap_or_default();
    outln!("  #{} {}{role}", k.id, k.name);
    if let Some(n) = &k.note {
        outln!("      note   {n}");
    }
    for p in &k.phones {
        outln!("      phone  {}", p.pretty("ext."));
    }
    for e in &k.emails {
        outln!("      e-mail {e}");
    }
}
