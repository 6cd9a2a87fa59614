//! Integration tests: the production routing table, a real JWKS fetch from a test issuer on
//! loopback, and real settings layers.

mod abuse;
mod admin;
mod authorization;
mod certificate_binding;
mod claim_rules;
mod claim_shapes;
mod common;
mod company_network;
mod credentials;
mod dev_issuer;
mod doctor;
mod dpop;
mod dpop_replay;
mod http;
mod issuers;
mod items;
mod key_selection;
mod key_set;
mod metrics;
mod openapi;
mod optional_auth;
mod probe;
mod providers;
mod replay_store;
mod settings;
mod shutdown;
mod startup;
mod static_keys;
mod tenants;
mod token_cache;
mod token_location;
mod tokens;
mod traces;
