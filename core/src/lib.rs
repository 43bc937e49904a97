//! pilot_guardrails_core: the pure logic of the extension, with no PostgreSQL and no pgrx — so
//! that the unit and property tests, the fuzz target and the benches use it as an ordinary crate.
//!
//! Where each rule of SPEC.md lives:
//! - §2 who the caller is: [`claims`] (the `sub` claim of `request.jwt.claims`); the host tables
//!   read at run time: [`host`];
//! - §6 validation and privacy guard: [`validate`] (the kinds, scalar checks, paths and the walk),
//!   [`privacy`] (the forbidden-key test), [`issues`] (codes, caps, JSON rendering);
//! - the input: [`jsonb`] reads PostgreSQL's binary `jsonb` as the flat [`events`] stream;
//! - §8 exact percentiles: [`math`]; §11 small-cell suppression: [`suppression`];
//! - §9 the drop guard's pure part: [`drop_guard`]; §14 keyed pseudonyms: [`pseudonym`];
//! - §13 the scorecard as a page: [`page`] (the HTML renderer).

pub mod claims;
pub mod drop_guard;
pub mod events;
pub mod headers;
pub mod host;
pub mod issues;
pub mod jsonb;
pub mod math;
pub mod page;
pub mod privacy;
pub mod pseudonym;
pub mod suppression;
pub mod validate;
