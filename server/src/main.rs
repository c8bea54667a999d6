//! `toursherpa`: the web app (`serve`, the default), one refresh (`ingest`), schema
//! migrations (`migrate`), admin accounts (`admin`) and synthetic data for scale tests
//! (`generate`).

use clap::{Parser, Subcommand};
use leptos::prelude::get_configuration;
use server::config::Config;
use std::process::ExitCode;

/// glibc's allocator took a third of a large refresh's time (building and binding a
/// million rows' values, from two threads) in its free-list upkeep; mimalloc keeps
/// per-thread pages instead. Its `override` feature also takes C's `malloc` and `free`,
/// so SQLite's own allocations (every page it reads, every row it decodes) use it too.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "toursherpa", version, about = "Event-centred travel search")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the web app and the JSON API (the default).
    Serve,
    /// Run one refresh now; exit non-zero if it failed.
    Ingest {
        /// Fetch a full snapshot instead of the changes since the last run.
        #[arg(long)]
        full: bool,
        /// Print the run's summary as one JSON object on the last line of standard output.
        #[arg(long)]
        json: bool,
    },
    /// Bring the store's schema up to date and exit.
    Migrate,
    /// Manage the accounts that may sign in to the admin pages.
    Admin {
        #[command(subcommand)]
        action: AdminAction,
    },
    /// Fill the store with synthetic events (labelled demo data) for scale tests.
    Generate {
        /// How many events to add.
        #[arg(long)]
        events: usize,
        /// Seed: the same seed gives the same events.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

#[derive(Subcommand)]
enum AdminAction {
    /// Add an account; the password is read from standard input (prompted on a terminal).
    Add {
        user: String,
        /// `admin`, or `viewer` (may sign in, may not use the admin pages).
        #[arg(long, default_value = "admin")]
        role: String,
    },
    /// Set a new password (from standard input) and end the account's sessions.
    Password { user: String },
    /// Remove an account and end its sessions.
    Remove { user: String },
    /// List the accounts.
    List,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,sea_orm=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("toursherpa: {e}");
            return ExitCode::from(2);
        }
    };
    let command = cli.command.unwrap_or(Command::Serve);
    if matches!(command, Command::Ingest { .. }) {
        // Before the runtime starts its threads: each thread takes its priority from the
        // thread that starts it, the store's connection threads included.
        server::priority::lower_for_refresh(config.refresh_nice);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("toursherpa: could not start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match command {
            Command::Serve => serve(config).await,
            Command::Ingest { full, json } => ingest(config, full, json).await,
            Command::Migrate => migrate(config).await,
            Command::Admin { action } => admin(config, action).await,
            Command::Generate { events, seed } => generate(config, events, seed).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("toursherpa: {e}");
            ExitCode::FAILURE
        }
    }
}

type AnyError = Box<dyn std::error::Error + Send + Sync>;

async fn generate(config: Config, events: usize, seed: u64) -> Result<ExitCode, AnyError> {
    let db = server::open_store(&config).await?;
    let report = app::demo::synthetic::generate(&db, events, seed).await?;
    println!("{}", serde_json::to_string(&report)?);
    Ok(ExitCode::SUCCESS)
}

async fn serve(config: Config) -> Result<ExitCode, AnyError> {
    let leptos_options = get_configuration(None)?.leptos_options;
    let addr = leptos_options.site_addr;
    let db = server::open_store(&config).await?;
    let state = server::app_state_for_serving(&config, db).await?;
    if app::ingest::enrich::store_is_empty(&state.db).await? {
        tracing::info!("empty store: running a first refresh in the background");
        server::spawn_refresh(&state, config.refresh.mode, "startup").await;
    }
    if let Some(every) = config.refresh_every {
        tracing::info!(every_secs = every.as_secs(), "refresh scheduler on");
        server::spawn_scheduler(&state, every);
    }
    if app::auth::list_users(&state.db).await?.is_empty() {
        tracing::info!("no admin accounts yet: `toursherpa admin add NAME` creates one (password on standard input)");
    }
    let app = server::router(leptos_options, state);
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    tracing::info!("listening on http://{addr}");
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    Ok(ExitCode::SUCCESS)
}

/// Ctrl-C or SIGTERM (what service managers send) ends `serve` gracefully.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}

async fn ingest(mut config: Config, full: bool, json: bool) -> Result<ExitCode, AnyError> {
    config.refresh.mode = if full {
        app::ingest::diff::SyncMode::Full
    } else {
        app::ingest::diff::SyncMode::Incremental
    };
    let db = server::open_store(&config).await?;
    let progress = std::io::IsTerminal::is_terminal(&std::io::stderr())
        .then(|| tokio::spawn(print_progress(db.clone())));
    let outcome = app::ingest::refresh(&db, &config.refresh).await;
    if let Some(p) = progress {
        p.abort();
    }
    let report = match outcome {
        Ok(r) => r,
        Err(app::ingest::RefreshError::AlreadyRunning) => {
            eprintln!(
                "toursherpa: a refresh is already running on this store; try again when it ends"
            );
            return Ok(ExitCode::from(3));
        }
        Err(e) => return Err(e.into()),
    };
    eprintln!(
        "run {}: {} · unchanged {} · changed {} · moved {} · new {} · gone {} · calls: events {}, places {}, flights {} · saved {}",
        report.run_id,
        report.status,
        report.classes.unchanged,
        report.classes.changed,
        report.classes.moved,
        report.classes.new,
        report.classes.gone,
        report.calls.events,
        report.calls.places,
        report.calls.flights,
        report.calls_saved
    );
    if report.deferred > 0 {
        eprintln!(
            "deferred: {} events still need enrichment; the next run does them first",
            report.deferred
        );
    }
    for e in &report.errors {
        eprintln!("error: {e}");
    }
    if json {
        println!("{}", serde_json::to_string(&report)?);
    }
    Ok(if report.status == "succeeded" {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Prints the running refresh's stage whenever it changes (on a terminal only).
async fn print_progress(db: sea_orm::DatabaseConnection) {
    use app::store::entities::refresh_run;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    let mut last = String::new();
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(400)).await;
        let run = refresh_run::Entity::find()
            .filter(refresh_run::Column::Status.eq("running"))
            .order_by_desc(refresh_run::Column::Id)
            .one(&db)
            .await;
        if let Ok(Some(run)) = run {
            let line = if run.progress_total > 0 {
                format!(
                    "run {}: {} {}/{}",
                    run.id, run.stage, run.progress_done, run.progress_total
                )
            } else {
                format!("run {}: {}", run.id, run.stage)
            };
            if line != last {
                eprintln!("{line}");
                last = line;
            }
        }
    }
}

async fn migrate(config: Config) -> Result<ExitCode, AnyError> {
    let db = app::store::connect(&config.database_url).await?;
    app::store::migrate(&db).await?;
    eprintln!("schema is up to date");
    Ok(ExitCode::SUCCESS)
}

/// The password from standard input: prompted twice without echo on a terminal, else the
/// first line of what was piped in.
fn read_password() -> Result<String, AnyError> {
    use std::io::{BufRead, IsTerminal, Read};
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ")?;
        let again = rpassword::prompt_password("Password again: ")?;
        if first != again {
            return Err("the two passwords differ".into());
        }
        return Ok(first);
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .take(app::auth::MAX_PASSWORD_BYTES as u64 + 2)
        .read_line(&mut line)?;
    let password = line.strip_suffix('\n').unwrap_or(&line);
    let password = password.strip_suffix('\r').unwrap_or(password);
    if password.is_empty() {
        return Err("no password on standard input (e.g. `printf '%s\\n' \"$PASSWORD\" | toursherpa admin add NAME`)".into());
    }
    Ok(password.to_string())
}

async fn admin(config: Config, action: AdminAction) -> Result<ExitCode, AnyError> {
    let db = app::store::connect(&config.database_url).await?;
    app::store::migrate(&db).await?;
    let audit = |action: &'static str, user: String| {
        let db = db.clone();
        async move { app::store::admin::audit(&db, "cli", action, &user, "", "local").await }
    };
    match action {
        AdminAction::Add { user, role } => {
            let password = read_password()?;
            let name = app::auth::add_user(&db, &user, &password, &role).await?;
            audit("user_add", format!("{name} ({role})")).await?;
            eprintln!("added {role} `{name}`");
        }
        AdminAction::Password { user } => {
            let password = read_password()?;
            app::auth::set_password(&db, &user, &password).await?;
            audit("user_password", user.clone()).await?;
            eprintln!("password of `{user}` changed; its sessions are ended");
        }
        AdminAction::Remove { user } => {
            app::auth::remove_user(&db, &user).await?;
            audit("user_remove", user.clone()).await?;
            eprintln!("removed `{user}`");
        }
        AdminAction::List => {
            for u in app::auth::list_users(&db).await? {
                println!("{}\t{}\t{}", u.username, u.role, u.created_at.to_rfc3339());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
