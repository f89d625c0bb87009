//! What the pages and the API both do to clients, once: create, change, and the
//! contacts; each checks the role, parses into domain values (problems name their
//! field), writes and records itself in the audit log.

use tenantry_core::{ClientId, Role};
use tenantry_store::{Client, Contact};

use crate::AppState;
use crate::auth::{Caller, RequestInfo};
use crate::error::WebError;
use crate::input::{ClientInput, ClientPatch, ContactInput};

pub async fn create_client(
    state: &AppState,
    info: &RequestInfo,
    caller: &Caller,
    input: &ClientInput,
) -> Result<Client, WebError> {
    caller.require(Role::Operator)?;
    let new = input.parse()?;
    let client = state.catalog.create_client(&new).await?;
    state
        .audit(
            &caller.name,
            &info.address,
            "create client",
            &client.id.to_string(),
            client.name.as_str(),
        )
        .await;
    Ok(client)
}

pub async fn update_client(
    state: &AppState,
    info: &RequestInfo,
    caller: &Caller,
    id: ClientId,
    patch: &ClientPatch,
) -> Result<Client, WebError> {
    caller.require(Role::Operator)?;
    let old = state.catalog.client(id).await?;
    let u = patch.update_from(&old)?;
    let c = state.catalog.update_client(id, &u).await?;
    state
        .audit(
            &caller.name,
            &info.address,
            "update client",
            &id.to_string(),
            "",
        )
        .await;
    Ok(c)
}

/// `field` names the input in problems (`contact` on the card, `body` in the API).
pub async fn add_contact(
    state: &AppState,
    info: &RequestInfo,
    caller: &Caller,
    id: ClientId,
    input: &ContactInput,
    field: &str,
) -> Result<Contact, WebError> {
    caller.require(Role::Operator)?;
    let new = input.parse(field)?;
    let c = state.catalog.add_contact(id, &new).await?;
    state
        .audit(
            &caller.name,
            &info.address,
            "add contact",
            &id.to_string(),
            c.name.as_str(),
        )
        .await;
    Ok(c)
}

pub async fn update_contact(
    state: &AppState,
    info: &RequestInfo,
    caller: &Caller,
    id: ClientId,
    contact: i64,
    input: &ContactInput,
    field: &str,
) -> Result<Contact, WebError> {
    caller.require(Role::Operator)?;
    let old = state.catalog.client(id).await?;
    let prev = old
        .contacts
        .iter()
        .find(|c| c.id == contact)
        .ok_or_else(|| WebError::not_found(format!("client {id} has no contact #{contact}")))?;
    let u = input.update_from(prev, field)?;
    let c = state.catalog.update_contact(id, contact, &u).await?;
    state
        .audit(
            &caller.name,
            &info.address,
            "update contact",
            &id.to_string(),
            c.name.as_str(),
        )
        .await;
    Ok(c)
}

pub async fn remove_contact(
    state: &AppState,
    info: &RequestInfo,
    caller: &Caller,
    id: ClientId,
    contact: i64,
) -> Result<(), WebError> {
    caller.require(Role::Operator)?;
    state.catalog.remove_contact(id, contact).await?;
    state
        .audit(
            &caller.name,
            &info.address,
            "remove contact",
            &id.to_string(),
            &format!("#{contact}"),
        )
        .await;
    Ok(())
}
