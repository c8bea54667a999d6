//! sea-orm entities, one per table of the initial migration.

macro_rules! no_relations {
    () => {
        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}
        impl ActiveModelBehavior for ActiveModel {}
    };
}

pub mod event {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "events")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub provider: String,
        pub title: String,
        pub description: String,
        pub category: String,
        /// JSON array of strings.
        pub labels: String,
        pub rank: i32,
        pub local_rank: Option<i32>,
        pub attendance: Option<i64>,
        pub spend_usd: Option<i64>,
        pub start_date: Date,
        pub end_date: Date,
        pub timezone: String,
        pub venue_name: String,
        pub address: String,
        pub city: String,
        pub country: String,
        pub lat: f64,
        pub lon: f64,
        /// `active`, `gone` or `archived`.
        pub state: String,
        pub gone_reason: Option<String>,
        pub duplicate_of: Option<String>,
        pub fingerprint: String,
        pub last_class: i16,
        pub provider_updated: Option<DateTimeUtc>,
        pub first_seen_at: DateTimeUtc,
        pub last_changed_at: DateTimeUtc,
        pub last_run_id: Option<i32>,
        pub demo: bool,
        /// Start and end instants, UTC RFC 3339, when the provider gives times.
        pub starts_at: Option<String>,
        pub ends_at: Option<String>,
        /// JSON array of [`crate::types::DemandDay`]: expected visitors per local day.
        pub impact: Option<String>,
        /// JSON [`crate::types::SpendIndustries`].
        pub spend_industries: Option<String>,
        /// The state or province: the provider's, else the nearest airport's in the country.
        pub region: Option<String>,
    }
    no_relations!();
}

pub mod event_history {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "event_history")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub event_id: String,
        pub run_id: i32,
        pub class: i16,
        pub detail: String,
        pub recorded_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod place {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "places")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub provider: String,
        pub provider_id: String,
        pub kind: String,
        pub name: String,
        pub lat: f64,
        pub lon: f64,
        pub rating: Option<f64>,
        pub rating_count: Option<i32>,
        pub price_level: Option<i16>,
        pub address: String,
        pub url: Option<String>,
        pub fetched_at: DateTimeUtc,
        pub demo: bool,
    }
    no_relations!();
}

pub mod place_lookup {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "place_lookups")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub cell: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub kind: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub provider: String,
        pub result_count: i32,
        pub fetched_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod airport {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "airports")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub iata: String,
        pub icao: Option<String>,
        pub name: String,
        pub city: String,
        pub subdivision: Option<String>,
        pub country: String,
        pub lat: f64,
        pub lon: f64,
        pub tz: String,
        pub elevation_ft: Option<i32>,
        pub scheduled: bool,
    }
    no_relations!();
}

pub mod country {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "countries")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub iso2: String,
        pub iso3: String,
        pub numeric: String,
        pub name_en: String,
        pub name_ko: String,
        pub currency: String,
        pub lat: Option<f64>,
        pub lon: Option<f64>,
    }
    no_relations!();
}

pub mod event_airport {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "event_airports")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub event_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub iata: String,
        pub distance_km: f64,
        pub position: i16,
    }
    no_relations!();
}

pub mod flight_offer {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "flight_offers")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub provider: String,
        pub origin: String,
        pub destination: String,
        pub depart_date: Date,
        pub carrier_code: String,
        pub carrier_name: String,
        pub flight_number: Option<String>,
        pub stops: i16,
        pub departs_at: String,
        pub arrives_at: String,
        pub duration_minutes: i32,
        pub price_minor: i64,
        pub currency: String,
        pub booking_url: Option<String>,
        pub fetched_at: DateTimeUtc,
        pub expires_at: DateTimeUtc,
        pub demo: bool,
    }
    no_relations!();
}

pub mod flight_lookup {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "flight_lookups")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub origin: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub destination: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub depart_date: Date,
        #[sea_orm(primary_key, auto_increment = false)]
        pub provider: String,
        pub result_count: i32,
        pub fetched_at: DateTimeUtc,
        pub expires_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod refresh_run {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "refresh_runs")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub mode: String,
        pub status: String,
        pub stage: String,
        pub events_provider: String,
        pub started_at: DateTimeUtc,
        pub finished_at: Option<DateTimeUtc>,
        pub unchanged: i32,
        pub changed: i32,
        pub moved: i32,
        pub new: i32,
        pub gone: i32,
        pub archived: i32,
        pub invalid: i32,
        pub calls_events: i32,
        pub calls_places: i32,
        pub calls_flights: i32,
        pub calls_saved: i32,
        pub deferred: i32,
        /// JSON array of error messages.
        pub errors: String,
        pub feed_generation: Option<i32>,
        /// Events handled so far in the current stage, of `progress_total`.
        pub progress_done: i32,
        pub progress_total: i32,
        /// Set by an admin (from any process); the run stops at its next check.
        pub cancel_requested: bool,
        /// Who started the run: an admin's name, `scheduler`, `cli` or `startup`.
        pub triggered_by: Option<String>,
    }
    no_relations!();
}

pub mod invalid_record {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "invalid_records")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub run_id: i32,
        pub provider_id: String,
        pub reason: String,
        pub recorded_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod store_state {
    use sea_orm::entity::prelude::*;

    /// What the store keeps about itself, in one row (id 1): see `store::state`.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "store_state")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: i32,
        pub events_generation: i64,
        pub demo_generation: i64,
        pub reference_fingerprint: Option<String>,
    }
    no_relations!();
}

pub mod trip_data_version {
    use sea_orm::entity::prelude::*;

    /// The version of places, flight offers and events' airports, in one row (id 1) of its
    /// own: see `store::state`.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "trip_data_version")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: i32,
        pub version: i64,
    }
    no_relations!();
}

pub mod lock {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "locks")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub name: String,
        pub holder: String,
        pub acquired_at: DateTimeUtc,
        pub heartbeat_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod pending_enrichment {
    use sea_orm::entity::prelude::*;

    /// Enrichment still owed for an event: `need` 1 = everything, 2 = flights only.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "pending_enrichment")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub event_id: String,
        pub need: i16,
        pub run_id: i32,
        pub created_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod provider_usage {
    use sea_orm::entity::prelude::*;

    /// Calls made to a provider on one UTC day (for daily budgets).
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "provider_usage")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub provider: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub day: Date,
        pub calls: i32,
    }
    no_relations!();
}

pub mod cluster_cell {
    use sea_orm::entity::prelude::*;

    /// Active events of one category counted in one grid cell at one zoom level.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "cluster_cells")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub level: i16,
        #[sea_orm(primary_key, auto_increment = false)]
        pub gy: i32,
        #[sea_orm(primary_key, auto_increment = false)]
        pub gx: i32,
        #[sea_orm(primary_key, auto_increment = false)]
        pub category: String,
        pub n: i64,
        pub sum_lat: f64,
        pub sum_lon: f64,
        pub single_id: Option<String>,
        pub single_title: Option<String>,
    }
    no_relations!();
}

pub mod stats_rollup {
    use sea_orm::entity::prelude::*;

    /// Active events counted, and their predicted spend summed (US dollars), per category,
    /// country, month (`YYYY-MM`) and week (its Monday, `YYYY-MM-DD`) of their start.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "stats_rollup")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub category: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub country: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub month: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub week: String,
        pub events: i64,
        /// Events that give a predicted spend.
        pub spend_events: i64,
        pub spend_total: i64,
        pub spend_accommodation: i64,
        pub spend_hospitality: i64,
        pub spend_transportation: i64,
    }
    no_relations!();
}

pub mod visitor_rollup {
    use sea_orm::entity::prelude::*;

    /// Expected visitors of the active events of one category and country on one local day.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "visitor_rollup")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub category: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub country: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub day: String,
        pub visitors: i64,
        /// The (event, day) pairs summed here: the row goes when the last one leaves.
        pub contributions: i64,
    }
    no_relations!();
}

pub mod admin_user {
    use sea_orm::entity::prelude::*;

    /// An account that can sign in. `role` is `admin` or `viewer` (signed in, no admin rights).
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "admin_users")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        #[sea_orm(unique)]
        pub username: String,
        /// PHC string of an Argon2id hash.
        pub password_hash: String,
        pub role: String,
        pub created_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod session {
    use sea_orm::entity::prelude::*;

    /// A signed-in session, found by the SHA-256 of its cookie token (the token itself is
    /// never stored).
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "sessions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub token_hash: String,
        pub user_id: i32,
        pub created_at: DateTimeUtc,
        pub last_seen_at: DateTimeUtc,
        pub expires_at: DateTimeUtc,
        pub address: String,
    }
    no_relations!();
}

pub mod sign_in_throttle {
    use sea_orm::entity::prelude::*;

    /// Failed sign-ins counted per `user:NAME` or `addr:ADDRESS` within a window.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "sign_in_throttle")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub key: String,
        pub failures: i32,
        pub window_start: DateTimeUtc,
        pub locked_until: Option<DateTimeUtc>,
    }
    no_relations!();
}

pub mod audit_log {
    use sea_orm::entity::prelude::*;

    /// One admin action: who, what, on what, when and from where.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "audit_log")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub at: DateTimeUtc,
        pub actor: String,
        pub action: String,
        pub target: String,
        pub detail: String,
        pub address: String,
    }
    no_relations!();
}

pub mod event_moderation {
    use sea_orm::entity::prelude::*;

    /// An event an admin hid from travellers. While a row exists the event's state is kept
    /// `hidden` (a refresh re-applies it in the transaction that rewrites the event).
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "event_moderation")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub event_id: String,
        pub reason: String,
        pub hidden_by: String,
        pub hidden_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod provider_status {
    use sea_orm::entity::prelude::*;

    /// A provider's last error and the last run in which it answered without one.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "provider_status")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub provider: String,
        pub last_error: Option<String>,
        pub last_error_at: Option<DateTimeUtc>,
        pub last_success_run: Option<i32>,
        pub last_success_at: Option<DateTimeUtc>,
    }
    no_relations!();
}
