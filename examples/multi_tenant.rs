//! A multi-tenant Stripe receiver: each connected account has its own signing secret, kept in
//! a SQLite database and looked up per request, on 127.0.0.1:3002.
//!
//! ```sh
//! cargo run --example multi_tenant --features axum,keys
//! ```
//!
//! On first run it creates `multi_tenant.db` in the system's temporary directory (or at
//! `$MULTI_TENANT_DB`), with two demo tenants, and prints its path and signed `curl` commands
//! for both. Change a tenant's secret while it runs and the new one is used within the cache's
//! TTL (60 seconds here), or on the next request once the admin route is told:
//!
//! ```sh
//! sqlite3 "$DB" "UPDATE tenants SET signing_secret = 'whsec_rotated' WHERE account = 'acct_acme'"
//! curl -X POST http://127.0.0.1:3002/admin/rotated/acct_acme   # KeyResolver::invalidate
//! ```
//!
//! SQLite is reached through `rusqlite` on tokio's blocking pool: lookups are rare (one per
//! tenant per TTL, thanks to the cache), so a connection per lookup keeps it simple and
//! picks up a database file that was replaced.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use axum::{extract::Path, routing::post, Extension, Router};
use http::HeaderMap;
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use tower_webhook::{
    keys::{FoundKeys, KeyError, KeyName, KeyResolver},
    presets,
    sign::Message,
    Verified, WebhookSignatureLayer,
};

/// Demo tenants created on first run: (account, signing secret).
const DEMO_TENANTS: [(&str, &str); 2] = [
    ("acct_acme", "whsec_demo-acme-NOT-FOR-PRODUCTION"),
    ("acct_globex", "whsec_demo-globex-NOT-FOR-PRODUCTION"),
];

/// Creates the tenants table, and the demo tenants if it is empty.
fn create_database(path: &PathBuf) -> rusqlite::Result<()> {
    let connection = Connection::open(path)?;
    connection.execute_batch(
        "CREATE TABLE IF NOT EXISTS tenants (
             account TEXT PRIMARY KEY,
             signing_secret TEXT NOT NULL
         )",
    )?;
    let count: i64 = connection.query_row("SELECT count(*) FROM tenants", [], |row| row.get(0))?;
    if count == 0 {
        for (account, secret) in DEMO_TENANTS {
            connection.execute(
                "INSERT INTO tenants (account, signing_secret) VALUES (?1, ?2)",
                (account, secret),
            )?;
        }
    }
    Ok(())
}

/// The signing secret of `account`, read on the blocking pool.
async fn secret_of(path: PathBuf, account: String) -> Result<Option<FoundKeys>, KeyError> {
    let secret = tokio::task::spawn_blocking(move || {
        let connection = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        connection
            .query_row(
                "SELECT signing_secret FROM tenants WHERE account = ?1",
                [account],
                |row| row.get::<_, String>(0),
            )
            .optional()
    })
    .await
    .map_err(KeyError::new)?
    .map_err(KeyError::new)?;
    Ok(secret.map(FoundKeys::new))
}

async fn handle_stripe(
    Path(account): Path<String>,
    Extension(verified): Extension<Verified>,
    body: String,
) -> String {
    println!(
        "stripe: verified for {} (key #{}): {body}",
        verified.key_id().unwrap_or("?"),
        verified.key_index()
    );
    format!("ok {account}\n")
}

/// `-H 'Name: value'` for each header, as curl takes them.
fn curl_headers(headers: &HeaderMap) -> String {
    headers
        .iter()
        .map(|(name, value)| format!("-H '{name}: {}'", value.to_str().unwrap_or_default()))
        .collect::<Vec<_>>()
        .join(" ")
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().with_target(false).init();

    // Not under `./target`: the build directory may be elsewhere (`CARGO_TARGET_DIR`), and
    // the working directory anything.
    let database = std::env::var_os("MULTI_TENANT_DB").map_or_else(
        || std::env::temp_dir().join("tower-webhook-multi_tenant.db"),
        PathBuf::from,
    );
    if let Some(dir) = database.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    create_database(&database)?;

    let path = database.clone();
    let tenants = KeyResolver::from_fn(
        KeyName::path("/webhooks/stripe/{account}"),
        move |account: String| secret_of(path.clone(), account),
    )
    .ttl(Duration::from_secs(60));

    let rotated = tenants.clone();
    let app = Router::new()
        .route(
            "/webhooks/stripe/{account}",
            post(handle_stripe).route_layer(WebhookSignatureLayer::new(presets::stripe(tenants))),
        )
        // After changing a tenant's secret in the database: its next request looks it up
        // again. (Behind your own authentication in a real server.)
        .route(
            "/admin/rotated/{account}",
            post(move |Path(account): Path<String>| async move {
                rotated.invalidate(&account);
                format!("{account}'s secret will be looked up again\n")
            }),
        );

    let addr = SocketAddr::from(([127, 0, 0, 1], 3002));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("tenants in {}", database.display());
    println!("listening on http://{addr}\n");
    let body = r#"{"id":"evt_1","type":"payment_intent.succeeded"}"#;
    for (account, secret) in DEMO_TENANTS {
        let headers = presets::stripe(secret).sign_message(&Message::new(body.as_bytes()));
        println!("# {account}, signed with its own secret (200 for the next 5 minutes):");
        println!(
            "curl -i http://{addr}/webhooks/stripe/{account} {} --data-binary '{body}'\n",
            curl_headers(&headers)
        );
    }
    let (acme, _) = DEMO_TENANTS[0];
    let (_, globex_secret) = DEMO_TENANTS[1];
    let headers = presets::stripe(globex_secret).sign_message(&Message::new(body.as_bytes()));
    println!("# {acme}'s endpoint, signed with another tenant's secret (401):");
    println!(
        "curl -i http://{addr}/webhooks/stripe/{acme} {} --data-binary '{body}'\n",
        curl_headers(&headers)
    );
    println!("# an account that does not exist (401, the same answer):");
    println!(
        "curl -i http://{addr}/webhooks/stripe/acct_nobody {} --data-binary '{body}'\n",
        curl_headers(&headers)
    );

    axum::serve(listener, app).await?;
    Ok(())
}
