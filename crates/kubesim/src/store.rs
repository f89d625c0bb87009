//! The object store: every object by resource, namespace and name, one resource version
//! counter for all, and a bounded history of changes that watches replay from.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;
use tokio::sync::broadcast;

use crate::resources::Resource;

/// Where an object lives: its resource (`pods`, `deployments.apps`), namespace (empty for
/// cluster-scoped ones) and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    pub res: String,
    pub ns: String,
    pub name: String,
}

impl Key {
    pub fn new(res: &Resource, ns: &str, name: &str) -> Self {
        Self {
            res: res.qualified_plural(),
            ns: if res.namespaced {
                ns.to_owned()
            } else {
                String::new()
            },
            name: name.to_owned(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "ADDED",
            Self::Modified => "MODIFIED",
            Self::Deleted => "DELETED",
        }
    }
}

/// One change, as watches see it.
#[derive(Debug, Clone)]
pub struct Change {
    pub rv: u64,
    pub key: Key,
    pub kind: EventType,
    pub object: Arc<Value>,
    /// For a modification or a deletion, the object before it: a selected watch sees an
    /// object entering its selection as ADDED and leaving it as DELETED, and a list at a
    /// past version is rebuilt from it.
    pub previous: Option<Arc<Value>>,
}

#[derive(Debug)]
struct Inner {
    rv: u64,
    objects: BTreeMap<Key, Arc<Value>>,
    history: VecDeque<Change>,
}

/// Store errors, mapped to API errors by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    NotFound,
    AlreadyExists,
    Conflict,
    Gone { oldest: u64 },
}

#[derive(Debug)]
pub struct Store {
    inner: Mutex<Inner>,
    changes: broadcast::Sender<Change>,
    history_len: usize,
}

pub fn rv_of(obj: &Value) -> Option<u64> {
    obj.pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
}

impl Store {
    pub fn new(history_len: usize) -> Self {
        let (changes, _) = broadcast::channel(4096);
        Self {
            inner: Mutex::new(Inner {
                rv: 1,
                objects: BTreeMap::new(),
                history: VecDeque::new(),
            }),
            changes,
            history_len,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn current_rv(&self) -> u64 {
        self.lock().rv
    }

    fn record(
        &self,
        inner: &mut Inner,
        key: Key,
        kind: EventType,
        object: Arc<Value>,
        previous: Option<Arc<Value>>,
    ) {
        let change = Change {
            rv: inner.rv,
            key,
            kind,
            object,
            previous,
        };
        inner.history.push_back(change.clone());
        while inner.history.len() > self.history_len {
            inner.history.pop_front();
        }
        let _ = self.changes.send(change);
    }

    /// Stores a new object, setting its resource version.
    pub fn create(&self, key: Key, mut obj: Value) -> Result<Arc<Value>, StoreError> {
        let mut inner = self.lock();
        if inner.objects.contains_key(&key) {
            return Err(StoreError::AlreadyExists);
        }
        inner.rv += 1;
        obj["metadata"]["resourceVersion"] = Value::String(inner.rv.to_string());
        let obj = Arc::new(obj);
        inner.objects.insert(key.clone(), obj.clone());
        self.record(&mut inner, key, EventType::Added, obj.clone(), None);
        Ok(obj)
    }

    pub fn get(&self, key: &Key) -> Option<Arc<Value>> {
        self.lock().objects.get(key).cloned()
    }

    /// Replaces an object. With `expect_rv`, the stored version must still be that one.
    pub fn update(
        &self,
        key: &Key,
        mut obj: Value,
        expect_rv: Option<u64>,
    ) -> Result<Arc<Value>, StoreError> {
        let mut inner = self.lock();
        let current = inner.objects.get(key).ok_or(StoreError::NotFound)?;
        if let Some(rv) = expect_rv
            && rv_of(current) != Some(rv)
        {
            return Err(StoreError::Conflict);
        }
        if **current == obj {
            return Ok(current.clone());
        }
        inner.rv += 1;
        obj["metadata"]["resourceVersion"] = Value::String(inner.rv.to_string());
        let obj = Arc::new(obj);
        let previous = inner.objects.insert(key.clone(), obj.clone());
        self.record(
            &mut inner,
            key.clone(),
            EventType::Modified,
            obj.clone(),
            previous,
        );
        Ok(obj)
    }

    /// Reads, changes and writes an object under the lock, so nothing slips in between.
    /// The closure returns `None` to leave the object as it is.
    pub fn modify(
        &self,
        key: &Key,
        f: impl FnOnce(&Value) -> Option<Value>,
    ) -> Result<Arc<Value>, StoreError> {
        let mut inner = self.lock();
        let current = inner.objects.get(key).ok_or(StoreError::NotFound)?.clone();
        let Some(mut next) = f(&current) else {
            return Ok(current);
        };
        next["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"].clone();
        if next == *current {
            return Ok(current);
        }
        inner.rv += 1;
        next["metadata"]["resourceVersion"] = Value::String(inner.rv.to_string());
        let next = Arc::new(next);
        inner.objects.insert(key.clone(), next.clone());
        self.record(
            &mut inner,
            key.clone(),
            EventType::Modified,
            next.clone(),
            Some(current),
        );
        Ok(next)
    }

    pub fn delete(&self, key: &Key) -> Result<Arc<Value>, StoreError> {
        let mut inner = self.lock();
        let old = inner.objects.remove(key).ok_or(StoreError::NotFound)?;
        inner.rv += 1;
        let mut gone = (*old).clone();
        gone["metadata"]["resourceVersion"] = Value::String(inner.rv.to_string());
        let gone = Arc::new(gone);
        self.record(
            &mut inner,
            key.clone(),
            EventType::Deleted,
            gone.clone(),
            Some(old),
        );
        Ok(gone)
    }

    /// Objects of a resource, in one namespace or all, in key order, and the version the
    /// listing is consistent with.
    pub fn list(&self, res: &str, ns: Option<&str>) -> (Vec<Arc<Value>>, u64) {
        let inner = self.lock();
        let lo = Key {
            res: res.to_owned(),
            ns: ns.unwrap_or("").to_owned(),
            name: String::new(),
        };
        let items = inner
            .objects
            .range(lo..)
            .take_while(|(k, _)| k.res == res && ns.is_none_or(|n| k.ns == n))
            .map(|(_, v)| v.clone())
            .collect();
        (items, inner.rv)
    }

    /// Objects of a resource as they were at version `rv` (a snapshot rebuilt by undoing
    /// the history's later changes), and that version; `Gone` when the history no longer
    /// reaches back that far. At or past the current version, the current state.
    pub fn list_at(
        &self,
        res: &str,
        ns: Option<&str>,
        rv: u64,
    ) -> Result<(Vec<Arc<Value>>, u64), StoreError> {
        let inner = self.lock();
        if rv >= inner.rv {
            drop(inner);
            return Ok(self.list(res, ns));
        }
        let oldest = inner.history.front().map_or(inner.rv, |c| c.rv);
        if rv + 1 < oldest {
            return Err(StoreError::Gone { oldest });
        }
        let in_scope = |k: &Key| k.res == res && ns.is_none_or(|n| k.ns == n);
        let lo = Key {
            res: res.to_owned(),
            ns: ns.unwrap_or("").to_owned(),
            name: String::new(),
        };
        let mut at: BTreeMap<Key, Arc<Value>> = inner
            .objects
            .range(lo..)
            .take_while(|(k, _)| in_scope(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for c in inner.history.iter().rev().take_while(|c| c.rv > rv) {
            if !in_scope(&c.key) {
                continue;
            }
            match (c.kind, &c.previous) {
                (EventType::Added, _) => {
                    at.remove(&c.key);
                }
                (EventType::Modified, Some(before)) => {
                    at.insert(c.key.clone(), before.clone());
                }
                (EventType::Modified, None) => {}
                // The object as it was before its deletion.
                (EventType::Deleted, Some(before)) => {
                    at.insert(c.key.clone(), before.clone());
                }
                (EventType::Deleted, None) => {}
            }
        }
        Ok((at.into_values().collect(), rv))
    }

    /// Changes after `rv` still in the history, and a receiver for the ones to come.
    pub fn watch_from(
        &self,
        rv: u64,
    ) -> Result<(Vec<Change>, broadcast::Receiver<Change>), StoreError> {
        let inner = self.lock();
        let rx = self.changes.subscribe();
        let oldest = inner.history.front().map_or(inner.rv, |c| c.rv);
        if rv + 1 < oldest && rv < inner.rv {
            return Err(StoreError::Gone { oldest });
        }
        let backlog = inner
            .history
            .iter()
            .filter(|c| c.rv > rv)
            .cloned()
            .collect();
        Ok((backlog, rx))
    }

    /// How many objects the store holds.
    pub fn len(&self) -> usize {
        self.lock().objects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
