//! The docs are held to the code: the README's "Cargo features" table and the crate docs'
//! "Cargo features" list name exactly the features `Cargo.toml` declares; the README lists
//! every test file and fuzz target; the guide's responses, `tracing` fields, resource-limit
//! defaults and metrics match `Rejection`, the event's code, the `DEFAULT_*` constants and the
//! recorded metric names; and every guide page is rendered and linked. (The sender table is
//! held by `tests/catalog.rs`; the README's and the guide's examples are doctests.)

use std::collections::BTreeSet;

use tower_webhook::Rejection;

/// Every feature in `Cargo.toml`'s `[features]`, but `default` and hidden ones (`__…`).
fn cargo_features() -> BTreeSet<&'static str> {
    let manifest = include_str!("../Cargo.toml");
    let section = manifest
        .split("\n[features]\n")
        .nth(1)
        .expect("a [features] section");
    let section = section.split("\n[").next().unwrap();
    section
        .lines()
        .filter(|line| !line.starts_with('#') && !line.starts_with(' '))
        .filter_map(|line| Some(line.split_once(" = ")?.0.trim()))
        .filter(|name| *name != "default" && !name.starts_with("__"))
        .collect()
}

#[test]
fn the_readme_lists_every_cargo_feature() {
    let readme = include_str!("../README.md");
    let table = readme
        .split("## Cargo features")
        .nth(1)
        .expect("a Cargo features section")
        .split("\n## ")
        .next()
        .unwrap();
    let listed: BTreeSet<&str> = table
        .lines()
        .filter_map(|line| {
            let name = line.strip_prefix("| `")?;
            Some(&name[..name.find('`')?])
        })
        .collect();
    assert_eq!(listed, cargo_features());
}

#[test]
fn the_crate_docs_list_every_cargo_feature() {
    let lib = include_str!("../src/lib.rs");
    let list = lib
        .split("//! # Cargo features")
        .nth(1)
        .expect("a Cargo features section")
        .split("\n//! #")
        .next()
        .unwrap();
    let listed: BTreeSet<&str> = list
        .lines()
        .filter_map(|line| {
            let name = line.strip_prefix("//! - `")?;
            Some(&name[..name.find('`')?])
        })
        .collect();
    assert_eq!(listed, cargo_features());
}

/// The names in backticks in the README's section `heading`, up to the next `## `.
fn backticked_in_section(heading: &str) -> BTreeSet<&'static str> {
    let readme = include_str!("../README.md");
    let section = readme
        .split(heading)
        .nth(1)
        .expect("the section")
        .split("\n## ")
        .next()
        .unwrap();
    section
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|name| {
            name.chars()
                .all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit())
        })
        .collect()
}

/// File stems in `dir` with extension `.rs`.
fn stems(dir: &str) -> BTreeSet<String> {
    std::fs::read_dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir))
        .unwrap()
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            (path.extension()? == "rs").then(|| path.file_stem()?.to_str().map(str::to_owned))?
        })
        .collect()
}

#[test]
fn the_readme_names_every_test_file_and_fuzz_target() {
    let named = backticked_in_section("## Development");
    for test in stems("tests") {
        assert!(
            named.contains(test.as_str()),
            "tests/{test}.rs is not in the README's list"
        );
    }
    for target in stems("fuzz/fuzz_targets") {
        assert!(
            named.contains(target.as_str()),
            "fuzz target {target} is not in the README's list"
        );
    }
}

/// The text of `src/guide/{page}.md`, one page of the guide (`tower_webhook::guide`).
fn guide(page: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src/guide")
        .join(format!("{page}.md"));
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// The rows of the first Markdown table in `text` after the line `heading` (or from the
/// start, for `""`), each split into its cells, header and separator rows dropped.
fn table_rows(text: &str, heading: &str) -> Vec<Vec<String>> {
    let text = if heading.is_empty() {
        text
    } else {
        text.split(&format!("\n{heading}\n"))
            .nth(1)
            .unwrap_or_else(|| panic!("no heading {heading:?}"))
    };
    text.lines()
        .skip_while(|line| !line.starts_with('|'))
        .take_while(|line| line.starts_with('|'))
        .skip(2)
        .map(|line| {
            split_cells(line.trim().trim_start_matches('|').trim_end_matches('|'))
                .into_iter()
                .map(|cell| cell.trim().to_owned())
                .collect()
        })
        .collect()
}

/// A table row's cells: split on `|` outside backticks, and not on an escaped `\|`.
fn split_cells(row: &str) -> Vec<String> {
    let (mut cells, mut cell, mut in_code, mut escaped) = (Vec::new(), String::new(), false, false);
    for c in row.chars() {
        match c {
            '|' if !in_code && !escaped => cells.push(std::mem::take(&mut cell)),
            _ => {
                if c == '`' {
                    in_code = !in_code;
                }
                cell.push(c);
            }
        }
        escaped = c == '\\';
    }
    cells.push(cell);
    cells
}

/// The names in backticks in `text`.
fn backticked(text: &str) -> BTreeSet<&str> {
    text.split('`').skip(1).step_by(2).collect()
}

/// Every reason string `Rejection::reason` can return, read from its source, so a variant
/// added there without a row here fails.
fn reasons_in_the_code() -> BTreeSet<String> {
    let source = include_str!("../src/rejection.rs");
    let body = source
        .split("pub fn reason(&self) -> &'static str {")
        .nth(1)
        .expect("Rejection::reason")
        .split("\n    }\n")
        .next()
        .unwrap();
    let reasons: BTreeSet<String> = body
        .split("=> \"")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].to_owned())
        .collect();
    assert!(reasons.len() >= 14, "{reasons:?}");
    reasons
}

/// One value of every `Rejection` variant.
fn every_rejection() -> Vec<Rejection> {
    vec![
        Rejection::MissingSignature,
        Rejection::MalformedSignature,
        Rejection::InvalidSignature,
        Rejection::InvalidTimestamp,
        Rejection::TimestampOutOfTolerance,
        Rejection::UnknownKey,
        Rejection::KeySourceUnavailable,
        Rejection::AddressNotAllowed(std::net::Ipv4Addr::LOCALHOST.into()),
        Rejection::UnknownPeer,
        Rejection::BodyTooLarge { limit: 1 },
        Rejection::BodyBudgetExhausted,
        Rejection::BodyTimeout,
        Rejection::InvalidContentLength,
        Rejection::BodyRead(std::io::Error::other("reset").into()),
    ]
}

#[test]
fn the_guide_lists_every_rejection_reason_as_a_tracing_reason() {
    let page = guide("responses");
    let fields = table_rows(&page, "# Tracing events");
    let reason_row = fields
        .iter()
        .find(|row| row[0] == "`reason`")
        .expect("a `reason` row");
    let listed: BTreeSet<String> = backticked(&reason_row[1])
        .into_iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(listed, reasons_in_the_code());
    let constructed: BTreeSet<String> = every_rejection()
        .iter()
        .map(|r| r.reason().to_owned())
        .collect();
    assert_eq!(
        constructed,
        reasons_in_the_code(),
        "every_rejection() misses a variant"
    );
}

/// Each rejection's status and body are in one row of the guide's responses table, and every
/// row is some rejection's.
#[test]
fn the_guide_responses_table_matches_rejection() {
    let page = guide("responses");
    let rows = table_rows(&page, "");
    let answers = |row: &Vec<String>, rejection: &Rejection| {
        row[1].starts_with(rejection.status().as_str())
            && row[2].starts_with(&format!("`{rejection}`"))
    };
    for rejection in every_rejection() {
        assert!(
            rows.iter().any(|row| answers(row, &rejection)),
            "no row answers {} `{rejection}`",
            rejection.status()
        );
    }
    for row in &rows {
        assert!(
            every_rejection().iter().any(|r| answers(row, r)),
            "a row no rejection gives: {row:?}"
        );
    }
    let budget = rows
        .iter()
        .find(|row| row[2].contains(&Rejection::BodyBudgetExhausted.to_string()))
        .unwrap();
    let advice = Rejection::BodyBudgetExhausted.to_response();
    let retry_after = advice.headers()["retry-after"].to_str().unwrap();
    assert!(
        budget[1].contains(&format!("`Retry-After: {retry_after}`")),
        "{budget:?}"
    );
}

/// The fields of every `webhook rejected` event in the code, read from the `tracing` macro
/// calls that emit it, wherever in `src/` they are.
fn rejection_event_fields() -> BTreeSet<String> {
    let mut fields = BTreeSet::new();
    let mut sources = Vec::new();
    let mut dirs = vec![std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                sources.push(std::fs::read_to_string(path).unwrap());
            }
        }
    }
    for source in &sources {
        for (at, _) in source.match_indices("\"webhook rejected\"") {
            let start = source[..at].rfind("tracing::").unwrap();
            let args = &source[start..at];
            let args = &args[args.find("!(").unwrap() + 2..];
            for arg in args.split(',').map(str::trim).filter(|arg| !arg.is_empty()) {
                if arg.starts_with("target:") {
                    continue;
                }
                let name = arg.trim_start_matches(['%', '?']);
                let end = name.find([' ', '=']).unwrap_or(name.len());
                fields.insert(name[..end].to_owned());
            }
        }
    }
    assert!(fields.contains("reason"), "{fields:?}");
    fields
}

#[test]
fn the_guide_lists_every_field_of_the_rejection_event() {
    let page = guide("responses");
    let listed: BTreeSet<String> = table_rows(&page, "# Tracing events")
        .iter()
        .map(|row| row[0].trim_matches('`').to_owned())
        .collect();
    assert_eq!(listed, rejection_event_fields());
}

// The fetch and JWT constants exist with those features only.
#[cfg(all(feature = "fetch", feature = "jwt", feature = "sns"))]
mod limits {
    use std::time::Duration;

    use super::{guide, table_rows};

    /// Whether `cell` holds `value` as a whole number: not preceded by a digit, `.` or `,`.
    fn holds(cell: &str, value: &str) -> bool {
        cell.match_indices(value).any(|(at, _)| {
            !cell[..at]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_ascii_digit() || c == '.' || c == ',')
        })
    }

    /// The ways the guide writes `duration`: `30 s`, `5 min`, `1 h`, `10 ms`, `5 minutes`.
    fn durations(duration: Duration) -> Vec<String> {
        let (ms, s) = (duration.as_millis(), duration.as_secs());
        let mut ways = Vec::new();
        if ms % 1000 != 0 {
            ways.push(format!("{ms} ms"));
            return ways;
        }
        ways.extend([format!("{s} s"), format!("{s} seconds")]);
        if s % 60 == 0 {
            ways.extend([format!("{} min", s / 60), format!("{} minutes", s / 60)]);
        }
        if s % 3600 == 0 {
            ways.push(format!("{} h", s / 3600));
        }
        ways
    }

    /// The ways the guide writes a size in bytes: `2 MiB`, `64 KiB`.
    fn sizes(bytes: usize) -> Vec<String> {
        match bytes {
            b if b % (1 << 20) == 0 => vec![format!("{} MiB", b >> 20)],
            b if b % (1 << 10) == 0 => vec![format!("{} KiB", b >> 10)],
            b => vec![format!("{b} bytes")],
        }
    }

    /// The default cell of the row of `rows` whose setter cell mentions `setter`.
    fn default_for<'a>(rows: &'a [Vec<String>], setter: &str) -> &'a str {
        let row = rows
            .iter()
            .find(|row| row.last().unwrap().contains(setter))
            .unwrap_or_else(|| panic!("no row for {setter}"));
        &row[row.len() - 2]
    }

    #[test]
    fn the_guide_limits_defaults_match_the_constants() {
        use tower_webhook::{keys, replay, scheme, verify};

        let page = guide("limits");
        let rows = table_rows(&page, "");
        let checks: Vec<(&str, Vec<Vec<String>>)> = vec![
            (
                ".max_body_size(",
                vec![sizes(verify::DEFAULT_MAX_BODY_SIZE)],
            ),
            (
                ".body_budget(",
                vec![
                    sizes(verify::DEFAULT_BODY_BUDGET),
                    sizes(verify::SMALL_BODY),
                ],
            ),
            (
                ".body_timeout(",
                vec![durations(verify::DEFAULT_BODY_TIMEOUT)],
            ),
            (
                "::store_timeout(",
                vec![durations(replay::DEFAULT_STORE_TIMEOUT)],
            ),
            (
                "::in_progress_ttl(",
                vec![durations(replay::DEFAULT_IN_PROGRESS_TTL)],
            ),
            ("::done_ttl(", vec![durations(replay::DEFAULT_DONE_TTL)]),
            (
                ".tolerance(",
                vec![
                    durations(scheme::DEFAULT_TOLERANCE),
                    durations(scheme::SNS_DEFAULT_TOLERANCE),
                ],
            ),
            (
                "::max_concurrent_lookups(",
                vec![vec![keys::DEFAULT_MAX_CONCURRENT_LOOKUPS.to_string()]],
            ),
            (
                "KeyResolver::timeout(",
                vec![durations(keys::DEFAULT_KEY_TIMEOUT)],
            ),
            ("KeyResolver::ttl(", vec![durations(keys::DEFAULT_KEY_TTL)]),
            (
                "::unknown_ttl(",
                vec![durations(keys::DEFAULT_UNKNOWN_KEY_TTL)],
            ),
            ("::leeway(", vec![durations(scheme::DEFAULT_JWT_LEEWAY)]),
            (
                "::max_concurrent_fetches(",
                vec![vec![keys::DEFAULT_MAX_CONCURRENT_FETCHES.to_string()]],
            ),
            (
                "::rate_limit(",
                vec![
                    vec![format!("bursts of {}", keys::DEFAULT_FETCH_BURST)],
                    if keys::DEFAULT_FETCH_REFILL == Duration::from_secs(60) {
                        vec!["1 a minute".to_owned()]
                    } else {
                        durations(keys::DEFAULT_FETCH_REFILL)
                    },
                ],
            ),
            (
                "Fetcher::limit(",
                vec![
                    sizes(keys::DEFAULT_FETCH_LIMIT),
                    durations(keys::DEFAULT_FETCH_TIMEOUT),
                ],
            ),
            (
                "::jwks_refresh_interval(",
                vec![durations(scheme::DEFAULT_JWKS_REFRESH_INTERVAL)],
            ),
        ];
        for (setter, values) in checks {
            let cell = default_for(&rows, setter);
            for ways in values {
                assert!(
                    ways.iter().any(|way| holds(cell, way)),
                    "{setter}: default {cell:?} is not any of {ways:?}"
                );
            }
        }

        // The key cache's table in the per-tenant page says the same.
        let page = guide("per_tenant");
        let rows = table_rows(&page, "# The cache");
        for (setter, default) in [
            (".ttl(", keys::DEFAULT_KEY_TTL),
            (".unknown_ttl(", keys::DEFAULT_UNKNOWN_KEY_TTL),
            (".timeout(", keys::DEFAULT_KEY_TIMEOUT),
        ] {
            let row = rows
                .iter()
                .find(|row| row[0].contains(&format!("[`{setter}")))
                .unwrap_or_else(|| panic!("no row for {setter}"));
            assert!(
                durations(default).iter().any(|way| holds(&row[1], way)),
                "{setter}: {row:?}"
            );
        }
    }
}

#[test]
fn the_guide_lists_every_metric() {
    let source = include_str!("../src/metrics.rs");
    let in_code: BTreeSet<&str> = source
        .split('"')
        .skip(1)
        .step_by(2)
        .filter(|literal| {
            literal.starts_with("webhook_")
                && literal.chars().all(|c| c.is_ascii_lowercase() || c == '_')
        })
        .collect();
    assert!(in_code.len() >= 5, "{in_code:?}");
    let page = guide("metrics");
    let listed: BTreeSet<String> = table_rows(&page, "")
        .iter()
        .map(|row| row[0].trim_matches('`').to_owned())
        .collect();
    let listed: BTreeSet<&str> = listed.iter().map(String::as_str).collect();
    assert_eq!(listed, in_code);
}

/// Every page in `src/guide/` is a module of `guide`, in the crate docs' list and in the
/// README's table of the guide.
#[test]
fn every_guide_page_is_included_and_linked() {
    let module = include_str!("../src/guide/mod.rs");
    let lib = include_str!("../src/lib.rs");
    let readme = include_str!("../README.md");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/guide");
    let mut pages = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|ext| ext != "md") {
            continue;
        }
        let page = path.file_stem().unwrap().to_str().unwrap();
        pages += 1;
        assert!(
            module.contains(&format!(
                "#[doc = include_str!(\"{page}.md\")]\npub mod {page} {{}}"
            )),
            "src/guide/{page}.md is not a module of guide"
        );
        assert!(
            module.contains(&format!("[`{page}`]")),
            "the guide's index does not link {page}"
        );
        assert!(
            lib.contains(&format!("//! - [`guide::{page}`]")),
            "the crate docs do not link guide::{page}"
        );
        assert!(
            readme.contains(&format!("/guide/{page}/index.html")),
            "the README does not link guide::{page}"
        );
    }
    assert!(pages >= 11);
}
