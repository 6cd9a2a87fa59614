//! Where items live: a trait, so a service can swap in its own database, and the in-memory
//! implementation the template ships with (no database, no migrations).

use std::collections::{BTreeMap, HashMap};
use std::sync::RwLock;
use std::time::{SystemTime, UNIX_EPOCH};

use futures_util::future::{BoxFuture, FutureExt, ready};

use super::{Creator, Item, ItemDraft, ItemPatch};

/// Why a store operation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    NotFound,
    /// Another item already has this name.
    NameTaken,
    /// The backing store failed; the message is for logs, never for clients.
    Unavailable(String),
}

/// One page of items in creation order, and the cursor of the next page if there is one.
#[derive(Debug, Clone)]
pub struct Page {
    pub items: Vec<Item>,
    pub next: Option<u64>,
}

/// Figures for the admin route.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Stats {
    pub items: usize,
    pub creators: usize,
}

/// Item storage. Methods return boxed futures so that `dyn ItemStore` works with any async
/// backend.
pub trait ItemStore: Send + Sync {
    /// Up to `limit` items created after position `after`, oldest first.
    fn list(&self, after: Option<u64>, limit: usize) -> BoxFuture<'_, Result<Page, StoreError>>;
    fn create(
        &self,
        draft: ItemDraft,
        created_by: Creator,
    ) -> BoxFuture<'_, Result<Item, StoreError>>;
    fn get(&self, id: &str) -> BoxFuture<'_, Result<Item, StoreError>>;
    fn replace(&self, id: &str, draft: ItemDraft) -> BoxFuture<'_, Result<Item, StoreError>>;
    fn update(&self, id: &str, patch: ItemPatch) -> BoxFuture<'_, Result<Item, StoreError>>;
    fn delete(&self, id: &str) -> BoxFuture<'_, Result<(), StoreError>>;
    fn stats(&self) -> BoxFuture<'_, Result<Stats, StoreError>>;
}

#[derive(Default)]
struct Items {
    /// Creation position → item: the stable order pages follow.
    by_position: BTreeMap<u64, Item>,
    position_of: HashMap<String, u64>,
    next_position: u64,
}

impl Items {
    fn name_taken(&self, name: &str, except: Option<&str>) -> bool {
        self.by_position
            .values()
            .any(|item| item.name == name && Some(item.id.as_str()) != except)
    }

    fn item_mut(&mut self, id: &str) -> Result<&mut Item, StoreError> {
        let position = self.position_of.get(id).ok_or(StoreError::NotFound)?;
        self.by_position
            .get_mut(position)
            .ok_or(StoreError::NotFound)
    }
}

/// Items in process memory: lost on restart, and not shared between replicas.
#[derive(Default)]
pub struct InMemoryItemStore {
    items: RwLock<Items>,
}

impl InMemoryItemStore {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Items> {
        self.items.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Items> {
        self.items.write().unwrap_or_else(|e| e.into_inner())
    }
}

impl ItemStore for InMemoryItemStore {
    fn list(&self, after: Option<u64>, limit: usize) -> BoxFuture<'_, Result<Page, StoreError>> {
        let items = self.read();
        let start = after.map_or(0, |position| position + 1);
        let mut page: Vec<(u64, Item)> = items
            .by_position
            .range(start..)
            .take(limit + 1)
            .map(|(position, item)| (*position, item.clone()))
            .collect();
        let next = if page.len() > limit {
            page.truncate(limit);
            page.last().map(|(position, _)| *position)
        } else {
            None
        };
        let items = page.into_iter().map(|(_, item)| item).collect();
        ready(Ok(Page { items, next })).boxed()
    }

    fn create(
        &self,
        draft: ItemDraft,
        created_by: Creator,
    ) -> BoxFuture<'_, Result<Item, StoreError>> {
        let mut items = self.write();
        if items.name_taken(&draft.name, None) {
            return ready(Err(StoreError::NameTaken)).boxed();
        }
        let id = match new_id() {
            Ok(id) => id,
            Err(error) => return ready(Err(error)).boxed(),
        };
        let now = now();
        let item = Item {
            id: id.clone(),
            name: draft.name,
            description: draft.description,
            created_by,
            created_at: now,
            updated_at: now,
        };
        let position = items.next_position;
        items.next_position += 1;
        items.position_of.insert(id, position);
        items.by_position.insert(position, item.clone());
        ready(Ok(item)).boxed()
    }

    fn get(&self, id: &str) -> BoxFuture<'_, Result<Item, StoreError>> {
        let items = self.read();
        let item = items
            .position_of
            .get(id)
            .and_then(|position| items.by_position.get(position))
            .cloned()
            .ok_or(StoreError::NotFound);
        ready(item).boxed()
    }

    fn replace(&self, id: &str, draft: ItemDraft) -> BoxFuture<'_, Result<Item, StoreError>> {
        self.update(
            id,
            ItemPatch {
                name: Some(draft.name),
                description: Some(draft.description),
            },
        )
    }

    fn update(&self, id: &str, patch: ItemPatch) -> BoxFuture<'_, Result<Item, StoreError>> {
        let mut items = self.write();
        if let Some(name) = &patch.name
            && items.name_taken(name, Some(id))
            && items.position_of.contains_key(id)
        {
            return ready(Err(StoreError::NameTaken)).boxed();
        }
        let result = items.item_mut(id).map(|item| {
            if let Some(name) = patch.name {
                item.name = name;
            }
            if let Some(description) = patch.description {
                item.description = description;
            }
            item.updated_at = now();
            item.clone()
        });
        ready(result).boxed()
    }

    fn delete(&self, id: &str) -> BoxFuture<'_, Result<(), StoreError>> {
        let mut items = self.write();
        let result = match items.position_of.remove(id) {
            Some(position) => {
                items.by_position.remove(&position);
                Ok(())
            }
            None => Err(StoreError::NotFound),
        };
        ready(result).boxed()
    }

    fn stats(&self) -> BoxFuture<'_, Result<Stats, StoreError>> {
        let items = self.read();
        let mut creators: Vec<&Creator> = items
            .by_position
            .values()
            .map(|item| &item.created_by)
            .collect();
        creators.sort_unstable();
        creators.dedup();
        let stats = Stats {
            items: items.by_position.len(),
            creators: creators.len(),
        };
        ready(Ok(stats)).boxed()
    }
}

/// 128 random bits from the system's secure generator, as 32 lowercase hex digits: an id no
/// client can guess or make collide.
fn new_id() -> Result<String, StoreError> {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes)
        .map_err(|_| StoreError::Unavailable("random number generator failed".to_owned()))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}
