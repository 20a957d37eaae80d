//! Schemes that only one sender family uses, each in its own file: Twilio, PayPal, Amazon
//! SNS, JWTs, Mailgun, Adyen, Microsoft Graph's `clientState`, shared tokens, and
//! senders that sign nothing.

#[cfg(feature = "json")]
pub(super) mod adyen;
#[cfg(feature = "json")]
pub(super) mod client_state;
#[cfg(feature = "jwt")]
pub(super) mod jwt;
#[cfg(feature = "json")]
pub(super) mod mailgun;
#[cfg(feature = "paypal")]
pub(super) mod paypal;
#[cfg(feature = "json")]
mod signed_fields;
#[cfg(feature = "sns")]
pub(super) mod sns;
pub(super) mod token;
#[cfg(feature = "twilio")]
pub(super) mod twilio;
pub(super) mod unsigned;
