//! The OpenID Connect provider: other sites sign their users in through
//! us. `jws` signs and checks tokens; `keys` keeps the signing keys every
//! server shares; `clients` the sites an operator registered.

pub mod clients;
pub mod jws;
pub mod keys;
