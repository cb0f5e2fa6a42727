//! One module per provider.

pub mod assume_role;
pub mod cli_profile;
pub mod ecs;
pub mod environment;
pub mod file;
pub mod ini_profile;
pub mod oidc;
pub mod uri;
