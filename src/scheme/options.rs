//! [`Options`]: what several schemes let a user set the same way (a name, a timestamp
//! tolerance, a clock, an event id), held in one struct each embeds; and
//! [`shared_options!`], which writes a scheme's builder methods for them.
//!
//! Each scheme keeps its own doc comment and example on every method (its default, its
//! header, its constructor); only the methods' bodies are written once, here.

use std::{borrow::Cow, fmt, sync::Arc};

use http::HeaderMap;

use super::{
    envelope::signature::DEFAULT_TOLERANCE,
    envelope::timestamp::Tolerance,
    event_id::{header_id, BodyFields, EventIdSource},
    verified::Event,
};
use crate::foundation::{header_name, Clock, SystemClock};

/// The options a scheme shares with others; each scheme reads the ones it offers.
#[derive(Clone)]
pub(crate) struct Options {
    name: Cow<'static, str>,
    tolerance: Tolerance,
    #[cfg_attr(
        not(feature = "json"),
        expect(dead_code, reason = "only schemes behind `json` check timestamps")
    )]
    clock: Arc<dyn Clock>,
    event_id: Option<EventIdSource>,
    /// The sender's setup handshake, which the layer answers.
    #[cfg(feature = "json")]
    handshake: Option<crate::handshake::Handshake>,
}

impl Options {
    /// A scheme named `name` whose signed timestamps may be [`DEFAULT_TOLERANCE`] from now,
    /// on the system clock, naming deliveries by their signature (no event id).
    pub(crate) fn new(name: &'static str) -> Self {
        Self {
            name: Cow::Borrowed(name),
            tolerance: Tolerance::new(DEFAULT_TOLERANCE),
            clock: Arc::new(SystemClock),
            event_id: None,
            #[cfg(feature = "json")]
            handshake: None,
        }
    }

    #[cfg(feature = "json")]
    pub(crate) fn handshake(&self) -> Option<crate::handshake::Handshake> {
        self.handshake.clone()
    }

    #[cfg(feature = "json")]
    pub(crate) fn set_handshake(&mut self, handshake: crate::handshake::Handshake) {
        self.handshake = Some(handshake);
    }

    #[cfg(feature = "sns")]
    /// The same, with another default tolerance.
    pub(crate) fn with_tolerance(mut self, tolerance: std::time::Duration) -> Self {
        self.set_tolerance(tolerance);
        self
    }

    /// The scheme's name in logs, metrics and delivery ids.
    pub(crate) fn name(&self) -> &Cow<'static, str> {
        &self.name
    }

    #[cfg(feature = "json")]
    /// The tolerance, for a verifier that checks a timestamp it finds in the body.
    pub(crate) fn tolerance(&self) -> Tolerance {
        self.tolerance
    }

    #[cfg(feature = "json")]
    /// The clock, for a verifier that checks a timestamp it finds in the body.
    pub(crate) fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    #[cfg(any(feature = "paypal", feature = "sns", feature = "jwt"))]
    /// Whether a timestamp of `signed` seconds is within the tolerance of the clock's now.
    pub(crate) fn admits(&self, signed: u64) -> bool {
        self.tolerance.admits(self.now(), signed)
    }

    #[cfg(any(feature = "paypal", feature = "sns", feature = "jwt"))]
    /// The clock's now, in whole seconds since the Unix epoch.
    pub(crate) fn now(&self) -> u64 {
        crate::foundation::unix_seconds(&*self.clock)
    }

    #[cfg(feature = "twilio")]
    /// The delivery's event id from the headers, if one is read from a header and present
    /// once.
    pub(crate) fn header_event_id<'a>(&self, headers: &'a HeaderMap) -> Option<&'a [u8]> {
        match &self.event_id {
            Some(EventIdSource::Header(name)) => header_id(headers, name),
            _ => None,
        }
    }

    /// What names the delivery besides its signature: an unsigned header's value, or the
    /// body's fields once the body is read.
    pub(crate) fn event(&self, headers: &HeaderMap) -> Option<Event> {
        match &self.event_id {
            Some(EventIdSource::Header(name)) => {
                header_id(headers, name).map(|id| Event::Unsigned(id.into()))
            }
            Some(EventIdSource::Body(fields)) => Some(Event::Body {
                fields: Arc::clone(fields),
                body: None,
            }),
            None => None,
        }
    }

    /// The event id source, for `Debug`.
    pub(crate) fn event_id(&self) -> Option<&EventIdSource> {
        self.event_id.as_ref()
    }

    pub(crate) fn set_name(&mut self, name: Cow<'static, str>) {
        self.name = name;
    }

    #[cfg(feature = "json")]
    /// Held between 1 second and 7 days (see [`Tolerance`]), so no setting turns the check
    /// off.
    pub(crate) fn set_tolerance(&mut self, tolerance: std::time::Duration) {
        self.tolerance = Tolerance::new(tolerance);
    }

    #[cfg(feature = "json")]
    pub(crate) fn set_clock(&mut self, clock: Arc<dyn Clock>) {
        self.clock = clock;
    }

    /// # Panics
    ///
    /// If `name` is not a valid HTTP header name.
    pub(crate) fn set_event_id_header(&mut self, name: &str) {
        self.event_id = Some(EventIdSource::Header(header_name(name)));
    }

    pub(crate) fn set_event_id_field(&mut self, field: Cow<'static, str>) {
        self.event_id = Some(EventIdSource::Body(Arc::new(BodyFields {
            fields: vec![field],
            each_element: false,
        })));
    }
}

impl fmt::Debug for Options {
    /// Everything but the clock, which has no `Debug`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Options")
            .field("name", &self.name)
            .field("tolerance", &self.tolerance)
            .field("event_id", &self.event_id)
            .finish_non_exhaustive()
    }
}

/// Writes a scheme's public builder methods for the options it shares, in one `impl` block:
/// each method gets the doc comment written before its name at the call (the scheme's own
/// default and example) and `#[must_use]`, and sets the scheme's `options` field (an
/// [`Options`]), or for `fetcher`, `certificate_hosts` and `certificate_ttl` its
/// `certificates` field (a `FetchedCertificates`). Offering `clock` also implements
/// `SharedClock`, through which a preset built at run time takes a clock.
///
/// ```text
/// shared_options! {
///     MailgunScheme {
///         /// How far the signed timestamp may be from now, either way. Default: 5 minutes.
///         tolerance;
///     }
/// }
/// ```
macro_rules! shared_options {
    ($scheme:ty { $( $(#[$doc:meta])* $option:ident; )* }) => {
        impl $scheme {
            $( $crate::scheme::options::shared_options!(@method [$(#[$doc])*] $option); )*
        }
        $( $crate::scheme::options::shared_options!(@trait $scheme, $option); )*
    };
    (@method [$(#[$doc:meta])*] named) => {
        $(#[$doc])*
        #[must_use]
        pub fn named(mut self, name: impl Into<::std::borrow::Cow<'static, str>>) -> Self {
            self.options.set_name(name.into());
            self
        }
    };
    (@method [$(#[$doc:meta])*] tolerance) => {
        $(#[$doc])*
        #[must_use]
        pub fn tolerance(mut self, tolerance: ::std::time::Duration) -> Self {
            self.options.set_tolerance(tolerance);
            self
        }
    };
    (@method [$(#[$doc:meta])*] clock) => {
        $(#[$doc])*
        #[must_use]
        pub fn clock(mut self, clock: impl $crate::foundation::Clock) -> Self {
            self.options.set_clock(::std::sync::Arc::new(clock));
            self
        }
    };
    (@method [$(#[$doc:meta])*] event_id_header) => {
        $(#[$doc])*
        #[must_use]
        pub fn event_id_header(mut self, name: impl AsRef<str>) -> Self {
            self.options.set_event_id_header(name.as_ref());
            self
        }
    };
    (@method [$(#[$doc:meta])*] event_id_field) => {
        $(#[$doc])*
        #[must_use]
        pub fn event_id_field(
            mut self,
            field: impl Into<::std::borrow::Cow<'static, str>>,
        ) -> Self {
            self.options.set_event_id_field(field.into());
            self
        }
    };
    (@method [$(#[$doc:meta])*] fetcher) => {
        $(#[$doc])*
        #[must_use]
        pub fn fetcher(mut self, fetcher: $crate::keys::Fetcher) -> Self {
            self.certificates = self.certificates.fetcher(fetcher);
            self
        }
    };
    (@method [$(#[$doc:meta])*] certificate_hosts) => {
        $(#[$doc])*
        #[must_use]
        pub fn certificate_hosts(mut self, hosts: $crate::keys::AllowedHosts) -> Self {
            self.certificates = self.certificates.hosts(hosts);
            self
        }
    };
    (@method [$(#[$doc:meta])*] certificate_ttl) => {
        $(#[$doc])*
        #[must_use]
        pub fn certificate_ttl(mut self, ttl: ::std::time::Duration) -> Self {
            self.certificates = self.certificates.ttl(ttl);
            self
        }
    };
    (@trait $scheme:ty, clock) => {
        impl $crate::foundation::SharedClock for $scheme {
            fn shared_clock(
                mut self,
                clock: ::std::sync::Arc<dyn $crate::foundation::Clock>,
            ) -> Self {
                self.options.set_clock(clock);
                self
            }
        }
    };
    (@trait $scheme:ty, $other:ident) => {};
}

pub(crate) use shared_options;
