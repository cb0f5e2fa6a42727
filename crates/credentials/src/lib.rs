#![doc = include_str!("../README.md")]
//!
//! # Architecture
//!
//! Owns: the client side of Alibaba Cloud credentials for Rust programs — the [`Credentials`]
//! value, the [`ProvideCredentials`] trait, one module per provider (environment, CLI and INI
//! profiles, ECS metadata, credentials URI, the keyless credentials file, RAM role ARN), the
//! [`ProviderChain`] and its [`default_chain`], the one refresh cache ([`CachedProvider`]), and
//! [`rpc_call`] for V3-signed RPC requests over plain HTTP/1.1.
//!
//! Must not: depend on any keyless server crate (only `keyless-secret` and `keyless-sign` from
//! this workspace); read the clock (time comes from a [`TimeSource`]) or the process environment
//! (through [`Env`]) outside those two seams; print a secret (every `Debug` redacts, there is no
//! `Display` of credentials, error messages never quote a response body or a secret value); cache
//! anywhere but [`CachedProvider`]; speak TLS (endpoints are `http://`, loopback or in-cluster).

mod cache;
mod chain;
mod config;
mod credentials;
pub mod document;
mod error;
mod http;
pub mod oss;
mod provider;
pub mod providers;
mod rpc;
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
pub use oss::{Listing, ObjectSummary, OssClient, OssError};
pub use provider::{ProvideCredentials, ProvideFuture, SharedProvider, StaticProvider};
pub use providers::assume_role::{AssumeRoleProvider, AssumeRoleProviderBuilder, AssumedRole};
pub use providers::cli_profile::CliProfileProvider;
pub use providers::ecs::EcsMetadataProvider;
pub use providers::environment::EnvironmentProvider;
pub use providers::file::CredentialsFileProvider;
pub use providers::ini_profile::IniProfileProvider;
pub use providers::oidc::OidcUnsupportedProvider;
pub use providers::uri::CredentialsUriProvider;
pub use rpc::{rpc_call, RoaRequest, RpcClient, DEFAULT_RPC_TIMEOUTS};
pub use time::{FixedJitter, Jitter, ManualTimeSource, RandomJitter, SystemTimeSource, TimeSource};

/// Re-exported so callers need not depend on `keyless-secret` to read a secret.
pub use keyless_secret::{SecretBytes, SecretString};
