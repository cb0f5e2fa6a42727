#![doc = include_str!("../README.md")]
//!
//! # Architecture
//!
//! Owns: the client side of Alibaba Cloud credentials for Rust programs — the [`Credentials`]
//! value, the [`ProvideCredentials`] trait, one module per provider (environment, CLI and INI
//! profiles, ECS metadata, credentials URI, the keyless credentials file, RAM role ARN), the
//! [`ProviderChain`] and its [`default_chain`], the one refresh cache ([`CachedProvider`]), the
//! one parser and renderer of the credentials JSON document ([`document`]), and the two pieces
//! the providers need to talk to their endpoints: a minimal HTTP/1.1 transport ([`http`]) and
//! one V3-signed OpenAPI exchange ([`acs3`], for STS `AssumeRole`).
//!
//! Must not: contain service clients (RAM/STS/EAS RPC and ROA clients, OSS: they live in
//! `keyless-clients`, which builds on [`http`] and [`acs3`]); depend on any keyless server crate
//! (only `keyless-secret` and `keyless-sign` from this workspace); read the clock (time comes from a [`TimeSource`]) or the process environment
//! (through [`Env`]) outside those two seams; print a secret (every `Debug` redacts, there is no
//! `Display` of credentials, error messages never quote a response body or a secret value); cache
//! anywhere but [`CachedProvider`]; speak TLS (endpoints are `http://`, loopback or in-cluster).

pub mod acs3;
mod cache;
mod chain;
mod config;
mod credentials;
pub mod document;
mod error;
pub mod http;
mod provider;
pub mod providers;
mod time;

pub use cache::{
    refresh_time, CachedProvider, CachedProviderBuilder, DEFAULT_MIN_REFRESH_AHEAD,
    DEFAULT_RETRY_BACKOFF,
};
pub use chain::{default_chain, default_provider, ProviderChain};
pub use config::{Env, ProviderConfig, DEFAULT_CREDENTIALS_FILE, DEFAULT_ECS_METADATA_ENDPOINT};
pub use credentials::Credentials;
pub use error::{CredentialsError, RpcError};
pub use http::Timeouts;
pub use provider::{ProvideCredentials, ProvideFuture, SharedProvider, StaticProvider};
pub use providers::assume_role::{AssumeRoleProvider, AssumeRoleProviderBuilder, AssumedRole};
pub use providers::cli_profile::CliProfileProvider;
pub use providers::ecs::EcsMetadataProvider;
pub use providers::environment::EnvironmentProvider;
pub use providers::file::CredentialsFileProvider;
pub use providers::ini_profile::IniProfileProvider;
pub use providers::oidc::OidcUnsupportedProvider;
pub use providers::uri::CredentialsUriProvider;
pub use time::{FixedJitter, Jitter, ManualTimeSource, RandomJitter, SystemTimeSource, TimeSource};

/// Re-exported so callers need not depend on `keyless-secret` to read a secret.
pub use keyless_secret::{SecretBytes, SecretString};
