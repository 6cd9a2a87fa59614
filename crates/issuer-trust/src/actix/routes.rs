//! One path and its methods, declared once: each method's handler and what it requires of the
//! caller. From that one declaration come the middleware enforcing the requirement, HEAD
//! beside every GET (RFC 9110 §9.3.2), the `Allow` header of the 405 answer, and the
//! [`RouteTable`] that an OpenAPI document's security and the RFC 9728 `scopes_supported` can
//! be read from.
//!
//! ```text
//! api.at("/items")
//!     .get(Requirement::Scope(ITEMS_READ), list)
//!     .post(Requirement::Scope(ITEMS_WRITE), create)
//! api.at("/admin/stats")
//!     .step_up(&step_up)
//!     .get(Requirement::Role(ADMIN_ROLE), stats)
//! ```

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, PoisonError};

use actix_web::dev::{AppService, HttpServiceFactory};
use actix_web::http::Method;
use actix_web::http::header::ALLOW;
use actix_web::middleware::from_fn;
use actix_web::{FromRequest, Handler, HttpResponse, Responder, web};

use super::bearer::Authenticator;
use super::optional::optional_bearer;
use super::require::Requirement;
use crate::step_up::StepUp;

/// Every route an app serves: path, method, and what it requires (`None` for a public
/// route). Filled while the routes are configured; cloned cheaply, all clones share one record.
#[derive(Clone)]
pub struct RouteTable {
    declared: Arc<Mutex<Vec<DeclaredRoute>>>,
    /// What the optional-authentication routes verify a token with.
    authenticator: Arc<Authenticator>,
}

/// One served method of one path, as declared.
#[derive(Debug, Clone)]
pub struct DeclaredRoute {
    /// The route's full pattern, e.g. `/api/v1/items/{id}`.
    pub path: String,
    /// The method served (HEAD is recorded beside each GET).
    pub method: Method,
    /// `None` for a public route.
    pub requirement: Option<Requirement>,
    /// The route's step-up demand (RFC 9470), if any.
    pub step_up: Option<Arc<StepUp>>,
}

impl RouteTable {
    /// An empty table, its optional-authentication routes verifying with `authenticator`.
    pub fn new(authenticator: &Arc<Authenticator>) -> Self {
        Self {
            declared: Arc::default(),
            authenticator: Arc::clone(authenticator),
        }
    }

    /// A GET (and HEAD) route anyone may call.
    pub fn public<F, Args>(&self, path: &str, handler: F) -> Endpoint
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        Endpoint::new(self.clone(), String::new(), path).add(Method::GET, None, handler)
    }

    /// A GET (and HEAD) route anyone may call, which knows its caller when a token comes with
    /// the request: the handler reads `Option<Caller>`, and a token present but invalid is
    /// refused as on any protected route.
    pub fn optional_auth<F, Args>(&self, path: &str, handler: F) -> Endpoint
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        Endpoint::new(self.clone(), String::new(), path).add(
            Method::GET,
            Some(Requirement::Optional),
            handler,
        )
    }

    /// Routes under `prefix`, a scope the bearer middleware guards: each needs a valid token,
    /// and whatever its declaration adds.
    pub fn protected(&self, prefix: &'static str) -> ProtectedRoutes {
        ProtectedRoutes {
            table: self.clone(),
            prefix,
        }
    }

    /// What each served method of each path requires, in the order declared.
    pub fn entries(&self) -> Vec<DeclaredRoute> {
        self.record().clone()
    }

    /// Every scope some route requires, sorted and once each.
    pub fn scopes(&self) -> Vec<&'static str> {
        let scopes: BTreeSet<&'static str> = self
            .record()
            .iter()
            .filter_map(|route| match route.requirement {
                Some(Requirement::Scope(scope)) => Some(scope),
                _ => None,
            })
            .collect();
        scopes.into_iter().collect()
    }

    fn insert(&self, route: DeclaredRoute) {
        self.record().push(route);
    }

    fn record(&self) -> std::sync::MutexGuard<'_, Vec<DeclaredRoute>> {
        self.declared.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The bearer-guarded routes under one prefix; see [`RouteTable::protected`].
pub struct ProtectedRoutes {
    table: RouteTable,
    prefix: &'static str,
}

impl ProtectedRoutes {
    /// The scope to serve these routes in (register it with the bearer middleware).
    pub fn scope(&self) -> actix_web::Scope {
        web::scope(self.prefix)
    }

    /// The path `path` under the prefix, its methods still to declare.
    pub fn at(&self, path: &str) -> ProtectedEndpoint {
        ProtectedEndpoint(Endpoint::new(
            self.table.clone(),
            self.prefix.to_owned(),
            path,
        ))
    }
}

/// A path under a bearer-guarded prefix: each method names what it requires.
pub struct ProtectedEndpoint(Endpoint);

impl ProtectedEndpoint {
    /// Demands `step_up` of the caller's authentication on the methods declared after this,
    /// once their scope or role is met (RFC 9470).
    pub fn step_up(mut self, step_up: &StepUp) -> Self {
        self.0.step_up = Some(Arc::new(step_up.clone()));
        self
    }
}

/// One method of [`ProtectedEndpoint`] per HTTP method it may serve.
macro_rules! protected_methods {
    ($($(#[$doc:meta])* $name:ident => $method:expr;)*) => {
        impl ProtectedEndpoint {
            $(
                $(#[$doc])*
                pub fn $name<F, Args>(self, requirement: Requirement, handler: F) -> Self
                where
                    F: Handler<Args>,
                    Args: FromRequest + 'static,
                    F::Output: Responder + 'static,
                {
                    Self(self.0.add($method, Some(requirement), handler))
                }
            )*
        }
    };
}

protected_methods! {
    /// GET (and HEAD) on this path.
    get => Method::GET;
    /// POST on this path.
    post => Method::POST;
    /// PUT on this path.
    put => Method::PUT;
    /// PATCH on this path.
    patch => Method::PATCH;
    /// DELETE on this path.
    delete => Method::DELETE;
}

impl HttpServiceFactory for ProtectedEndpoint {
    fn register(self, config: &mut AppService) {
        self.0.register(config);
    }
}

/// One path's actix resource, the methods declared so far, and the table they are recorded in.
pub struct Endpoint {
    table: RouteTable,
    full_path: String,
    resource: actix_web::Resource,
    methods: Vec<Method>,
    step_up: Option<Arc<StepUp>>,
}

impl Endpoint {
    /// The resource is named after its full pattern, so that metrics read the route without
    /// building its pattern per request.
    fn new(table: RouteTable, prefix: String, path: &str) -> Self {
        let full_path = prefix + path;
        Self {
            resource: web::resource(path).name(&full_path),
            table,
            full_path,
            methods: Vec::new(),
            step_up: None,
        }
    }

    /// Serves `method` with `handler` behind `requirement`'s middleware, and records it; a GET
    /// brings a HEAD with the same handler and requirement.
    fn add<F, Args>(mut self, method: Method, requirement: Option<Requirement>, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        let methods = if method == Method::GET {
            vec![Method::GET, Method::HEAD]
        } else {
            vec![method]
        };
        for method in methods {
            let route = web::method(method.clone()).to(handler.clone());
            let route = match requirement {
                Some(Requirement::Optional) => {
                    let authenticator = Arc::clone(&self.table.authenticator);
                    route.wrap(from_fn(move |req, next| {
                        optional_bearer(Arc::clone(&authenticator), req, next)
                    }))
                }
                Some(requirement) => match requirement.middleware(self.step_up.clone()) {
                    Some(require) => route.wrap(require),
                    None => route,
                },
                None => route,
            };
            self.resource = self.resource.route(route);
            self.table.insert(DeclaredRoute {
                path: self.full_path.clone(),
                method: method.clone(),
                requirement,
                step_up: self.step_up.clone(),
            });
            self.methods.push(method);
        }
        self
    }
}

/// Any other method gets 405 with the `Allow` header naming those served, and no body: an
/// app that answers errors with problem bodies shapes it as it shapes the framework's own.
impl HttpServiceFactory for Endpoint {
    fn register(self, config: &mut AppService) {
        let allow = self
            .methods
            .iter()
            .map(Method::as_str)
            .collect::<Vec<_>>()
            .join(", ");
        let not_allowed = move || {
            let allow = allow.clone();
            async move {
                HttpResponse::MethodNotAllowed()
                    .insert_header((ALLOW, allow))
                    .finish()
            }
        };
        self.resource
            .default_service(web::to(not_allowed))
            .register(config);
    }
}
